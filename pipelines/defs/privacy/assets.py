"""Erasure requests, applied after the night's warehouse build (which says who the person is)."""

import contextlib
from datetime import date

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.privacy.erasure import erase_requested
from pipelines.lib.privacy.history import forget_history
from pipelines.lib.warehouse.dbt import MANIFEST, build_args
from pipelines.lib.warehouse.storage import compact


@dg.asset(key="erasures", group_name="privacy", partitions_def=DELIVERY_DATES,
          deps=[dg.AssetKey("identity_resolution")], pool="warehouse", kinds={"parquet", "duckdb"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def erasures(context: dg.AssetExecutionContext, lake: LakeResource, dbt: DbtCliResource) -> dg.MaterializeResult:
    """Forgets members who asked: rewrites their lake and quarantine files, rebuilds the warehouse
    without them, deletes them from its history tables and rewrites its file. Logged in
    lake/_erasure_log.parquet."""
    day = date.fromisoformat(context.partition_key)
    db = lake.layout.warehouse
    report = erase_requested(lake.layout, day)
    history_rows = 0
    # the build saw them: build again without them (the incremental tables reload the deliveries
    # whose files were rewritten: the erasure log is part of a delivery's version)
    if report.erased or report.rows_removed:
        log = db.parent / "dbt" / f"rebuild-after-erasure-{day}.log"
        with open(log, "w") as out, contextlib.redirect_stdout(out):
            dbt.cli(build_args(lake.settings, day), manifest=MANIFEST, target_path=db.parent / "dbt").wait()
        history_rows = forget_history(db, lake.layout.erasure_log)
        compact(db)
    return dg.MaterializeResult(metadata={
        "requests": report.requests, "erased": report.erased, "unknown_members": report.unknown_members,
        "rows_removed": report.rows_removed, "files_rewritten": len(report.files_rewritten),
        "history_rows_removed": history_rows, "warehouse_rebuilt": bool(report.erased or report.rows_removed)})
