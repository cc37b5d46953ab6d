"""Erasure requests, applied to the lake after the night's ingestion and before its build: the
night's warehouse is built once, without the people who asked to be forgotten."""

import contextlib
from datetime import date

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.ingest.assets import INGEST_ASSETS
from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.privacy.erasure import erase_members, named_in_lake, pending_requests
from pipelines.lib.warehouse.dbt import (IDENTITY_SELECTION, MANIFEST, build_vars, environment, night_env,
                                         warehouse_target)


@dg.asset(key="erasures", group_name="privacy", partitions_def=DELIVERY_DATES, deps=INGEST_ASSETS,
          pool="warehouse", kinds={"parquet", "duckdb"}, backfill_policy=dg.BackfillPolicy.multi_run(1))
def erasures(context: dg.AssetExecutionContext, lake: LakeResource, dbt: DbtCliResource) -> dg.MaterializeResult:
    """Forgets members who asked: rewrites their lake and quarantine files (logged in
    lake/_erasure_log.parquet). Who they are is tonight's identity resolution: when a pending
    request's member id is named by some lake record, the identity models alone are built as of
    tonight first (the night's build then builds everything once, from the cleaned lake, and
    deletes them from its history tables). A member id no record names is unknown without it: it
    stays pending (their data may arrive later) without costing a build every night."""
    day = date.fromisoformat(context.partition_key)
    pending = pending_requests(lake.layout, day)
    named = named_in_lake(lake.layout, [member_id for member_id, _, _ in pending])
    if named:
        target = warehouse_target(lake.layout)
        log = target / f"identity-before-erasure-{day}.log"
        with open(log, "w") as out, contextlib.redirect_stdout(out), environment(night_env(lake.settings, day)):
            # seeds too (rules): on a first night nothing is built yet; tests wait for the build
            dbt.cli(["build", "--select", IDENTITY_SELECTION, "--resource-type", "model", "--resource-type", "seed",
                     "--vars", build_vars(lake.settings)],
                    manifest=MANIFEST, target_path=target).wait()
    report = erase_members(lake.layout, day, pending)
    return dg.MaterializeResult(metadata={
        "requests": report.requests, "erased": report.erased, "unknown_members": report.unknown_members,
        "rows_removed": report.rows_removed, "files_rewritten": len(report.files_rewritten),
        "identity_built_first": bool(named)})
