"""Ingestion: one asset per source, partitioned by delivery date, gated by its expectations."""

from collections import Counter
from datetime import date

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.gates.raw import BLOCKING, WARNING, nights_gates
from pipelines.lib.ingest.delivery import ingest_deliveries
from pipelines.lib.ingest.landing import scan
from pipelines.lib.ingest.report import DeliveryReport
from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.ingest.spec import Source

LANDING_ZONE = dg.AssetKey(["raw", "landing_zone"])


def _nights(context: dg.AssetExecutionContext) -> list[date]:
    """The nights of this run, in order: one, or the range `cdp run` hands the `ingest` job for
    the nights before a backfill's build (`runner.ingest_nights`). The backfill policy stays one
    night per run for Dagster's own backfills: each night of the `nightly` job builds the warehouse."""
    return sorted(date.fromisoformat(key) for key in context.partition_keys)


@dg.asset(key=LANDING_ZONE, group_name="raw", partitions_def=DELIVERY_DATES, kinds={"file"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def landing_zone(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The night's deliveries as the channels dropped them: files per source, unknown folders."""
    found = [scan(lake.layout, day, set(SOURCES)) for day in _nights(context)]
    problems = [p for f in found for p in f.problems]
    for problem in problems:
        context.log.warning(problem)
    delivered = {s for f in found for s in f.files}
    return dg.MaterializeResult(metadata={
        "files": sum(len(v) for f in found for v in f.files.values()),
        "bytes": sum(size for f in found for v in f.files.values() for _, size in v),
        "sources_delivered": ", ".join(sorted(delivered)) or "none",
        "sources_missing": ", ".join(sorted(set(SOURCES) - delivered)) or "none",
        "ignored": "\n".join(problems) or "nothing",
    })


def _file_table(reports: list[DeliveryReport]) -> dg.MetadataValue:
    lines = ["| file | status | read | lake | quarantined | deduplicated | note |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {f.file} | {f.status} | {f.rows_read} | {f.rows_in_lake} | {f.rows_quarantined} | "
              f"{f.rows_deduplicated} | {(f.reason or '').replace('|', '/')} |" for r in reports for f in r.files]
    return dg.MetadataValue.md("\n".join(lines))


def build_ingest_asset(source: Source) -> dg.AssetsDefinition:
    key = dg.AssetKey(["lake", source.name])
    checks = [dg.AssetCheckSpec(name, asset=key, blocking=True) for name in BLOCKING] + \
             [dg.AssetCheckSpec(name, asset=key) for name in WARNING]

    @dg.asset(key=key, group_name="lake", partitions_def=DELIVERY_DATES, deps=[LANDING_ZONE],
              check_specs=checks, kinds={"parquet", "duckdb"}, description=source.description,
              metadata={"entities": ", ".join(e.name for e in source.entities)},
              backfill_policy=dg.BackfillPolicy.multi_run(1))
    def ingest(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        settings = lake.settings
        nights = _nights(context)
        reports = ingest_deliveries(lake.layout, source, nights, settings.duckdb_memory_limit, settings.duckdb_threads,
                                    settings.spill_dir)
        gates = nights_gates(lake.layout, source, reports)
        for gate in gates:
            if not gate.passed:
                context.log.error(f"gate {gate.name} failed for {source.name}: {gate.describe()}")
        stopped = [gate for gate in gates if not gate.passed and gate.name in BLOCKING]
        if stopped and len(nights) > 1:
            # a backfill's later nights build on the failing one (dedupe, volume history): the
            # runner runs the range again night by night, stopping at it with its own report
            first = min(day for gate in stopped for day in gate.by_night)
            raise dg.Failure(f"{source.name}: " + "; ".join(f"gate {gate.name} failed: {gate.describe()}"
                                                            for gate in stopped)[:2000],
                             metadata={"night": first.isoformat()})
        over = f" over {len(nights)} nights" if len(nights) > 1 else ""
        results = [dg.AssetCheckResult(
            check_name=gate.name, passed=gate.passed,
            description=(gate.describe() + (over if gate.passed and gate.checked else ""))[:2000],
            severity=dg.AssetCheckSeverity.ERROR if gate.name in BLOCKING else dg.AssetCheckSeverity.WARN,
            metadata={"expectations": gate.checked, "failures": "\n".join(gate.failures) or "none"})
            for gate in gates]

        def total(column: str) -> int:
            return sum(r.total(column) for r in reports)

        rows_per_entity, reasons = Counter(), Counter()
        for r in reports:
            rows_per_entity.update(r.rows_per_entity)
            reasons.update(r.reason_counts)
        samples = [s for r in reports for s in r.quarantine_samples][:20]
        return dg.MaterializeResult(check_results=results, metadata={
            "dagster/row_count": total("rows_in_lake"),
            "rows_read": total("rows_read"),
            "rows_in_lake": total("rows_in_lake"),
            "rows_in_lake_per_night": {r.delivery_date.isoformat(): r.total("rows_in_lake") for r in reports},
            "rows_quarantined": total("rows_quarantined"),
            "rows_deduplicated": total("rows_deduplicated"),
            "rows_with_warnings": total("rows_with_warnings"),
            "rows_erased_again": sum(r.rows_erased_again for r in reports),
            "files": sum(len(r.files) for r in reports),
            "files_refused": sum(len(r.refused) for r in reports),
            "reconciles": all(r.reconciles for r in reports),
            "rows_per_entity": dict(rows_per_entity),
            "quarantine_reasons": dict(reasons),
            "quarantine_samples": dg.MetadataValue.md("\n".join(f"- {s}" for s in samples) or "none"),
            "file_log": _file_table(reports),
        })

    return ingest


INGEST_ASSETS = [build_ingest_asset(source) for source in SOURCES.values()]
