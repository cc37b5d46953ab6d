"""Ingestion: one asset per source, partitioned by delivery date, gated by its expectations."""

from collections import Counter
from datetime import date

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.gates.raw import BLOCKING, WARNING, delivery_gates
from pipelines.lib.ingest.delivery import ingest_delivery
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
        reports, gates = [], {}
        for day in nights:
            report = ingest_delivery(lake.layout, source, day, settings.duckdb_memory_limit, settings.duckdb_threads,
                                     settings.spill_dir)
            reports.append(report)
            for gate in delivery_gates(lake.layout, source, report):
                if not gate.passed:
                    context.log.error(f"gate {gate.name} failed for {source.name} {day}: {gate.describe()}")
                    if gate.name in BLOCKING and len(nights) > 1:
                        # a backfill's later nights build on this one (dedupe, volume history):
                        # the runner runs the range again night by night, stopping at this one
                        raise dg.Failure(f"{source.name} {day}: gate {gate.name} failed: {gate.describe()[:1000]}",
                                         metadata={"night": day.isoformat()})
                gates.setdefault(gate.name, []).append((day, gate))
        results = []
        for name, outcomes in gates.items():
            severity = dg.AssetCheckSeverity.ERROR if name in BLOCKING else dg.AssetCheckSeverity.WARN
            failed = [(day, gate) for day, gate in outcomes if not gate.passed]
            if len(outcomes) == 1:
                description = outcomes[0][1].describe()
            elif failed:
                description = " | ".join(f"{day}: {gate.describe()}" for day, gate in failed)
            else:
                description = f"{sum(g.checked for _, g in outcomes)} expectations passed over {len(outcomes)} nights"
            results.append(dg.AssetCheckResult(
                check_name=name, passed=not failed, severity=severity, description=description[:2000],
                metadata={"expectations": sum(g.checked for _, g in outcomes),
                          "failures": "\n".join(f for _, g in failed for f in g.failures) or "none"}))

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
