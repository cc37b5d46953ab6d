"""Ingestion: one asset per source, partitioned by delivery date, gated by its expectations."""

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


@dg.asset(key=LANDING_ZONE, group_name="raw", partitions_def=DELIVERY_DATES, kinds={"file"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def landing_zone(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """The night's deliveries as the channels dropped them: files per source, unknown folders."""
    found = scan(lake.layout, date.fromisoformat(context.partition_key), set(SOURCES))
    for problem in found.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata={
        "files": sum(len(v) for v in found.files.values()),
        "bytes": sum(size for v in found.files.values() for _, size in v),
        "sources_delivered": ", ".join(sorted(found.files)) or "none",
        "sources_missing": ", ".join(sorted(set(SOURCES) - set(found.files))) or "none",
        "ignored": "\n".join(found.problems) or "nothing",
    })


def _file_table(report: DeliveryReport) -> dg.MetadataValue:
    lines = ["| file | status | read | lake | quarantined | deduplicated | note |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {f.file} | {f.status} | {f.rows_read} | {f.rows_in_lake} | {f.rows_quarantined} | "
              f"{f.rows_deduplicated} | {(f.reason or '').replace('|', '/')} |" for f in report.files]
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
        day = date.fromisoformat(context.partition_key)
        settings = lake.settings
        report = ingest_delivery(lake.layout, source, day, settings.duckdb_memory_limit, settings.duckdb_threads,
                                 settings.spill_dir)
        results = []
        for gate in delivery_gates(lake.layout, source, report):
            severity = dg.AssetCheckSeverity.ERROR if gate.name in BLOCKING else dg.AssetCheckSeverity.WARN
            if not gate.passed:
                context.log.error(f"gate {gate.name} failed for {source.name} {day}: {gate.describe()}")
            results.append(dg.AssetCheckResult(
                check_name=gate.name, passed=gate.passed, severity=severity, description=gate.describe()[:2000],
                metadata={"expectations": gate.checked, "failures": "\n".join(gate.failures) or "none"}))
        return dg.MaterializeResult(check_results=results, metadata={
            "dagster/row_count": report.total("rows_in_lake"),
            "rows_read": report.total("rows_read"),
            "rows_in_lake": report.total("rows_in_lake"),
            "rows_quarantined": report.total("rows_quarantined"),
            "rows_deduplicated": report.total("rows_deduplicated"),
            "rows_with_warnings": report.total("rows_with_warnings"),
            "rows_erased_again": report.rows_erased_again,
            "files": len(report.files),
            "files_refused": len(report.refused),
            "reconciles": report.reconciles,
            "rows_per_entity": report.rows_per_entity,
            "quarantine_reasons": report.reason_counts,
            "quarantine_samples": dg.MetadataValue.md("\n".join(f"- {s}" for s in report.quarantine_samples) or "none"),
            "file_log": _file_table(report),
        })

    return ingest


INGEST_ASSETS = [build_ingest_asset(source) for source in SOURCES.values()]
