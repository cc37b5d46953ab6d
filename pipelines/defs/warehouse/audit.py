"""Weekly proof that incremental nights equal a full refresh: each table loaded one delivery at a
time is rebuilt from the whole lake in a scratch warehouse and compared row for row
(`pipelines/lib/warehouse/replay.py`). Its own job, never inside a night: it reads all the lake."""

import json

import dagster as dg

from pipelines.defs.resources import SETTINGS, LakeResource
from pipelines.lib.warehouse.dbt import ensure_manifest
from pipelines.lib.warehouse.replay import TAG, NothingToCompare, full_refresh_differences

BY_DELIVERY = sorted(dg.AssetKey(node["name"]) for node in json.loads(ensure_manifest().read_text())["nodes"].values()
                     if node["resource_type"] == "model" and TAG in node.get("tags", []))


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("matches_full_refresh", asset=key,
                             description="Row for row what a full refresh of the lake would hold")
           for key in BY_DELIVERY],
    pool="warehouse")
def matches_full_refresh(lake: LakeResource):
    try:
        night, differences = full_refresh_differences(lake.settings)
    except NothingToCompare as reason:
        for key in BY_DELIVERY:
            yield dg.AssetCheckResult(asset_key=key, check_name="matches_full_refresh", passed=False,
                                      description=f"not compared: {reason}")
        return
    found = {d.table: d for d in differences}
    for key in BY_DELIVERY:
        difference = found.get(key.path[-1])
        yield dg.AssetCheckResult(
            asset_key=key, check_name="matches_full_refresh", passed=difference is None,
            description=difference.describe() if difference else f"equal to a full refresh as of {night}",
            metadata={"night": str(night),
                      "only_incremental": difference.only_incremental if difference else 0,
                      "only_full_refresh": difference.only_full_refresh if difference else 0})


incremental_audit = dg.define_asset_job(
    "incremental_audit", selection=dg.AssetSelection.checks(matches_full_refresh),
    description="Compare the incremental tables with a full refresh of the lake (reads all of it).")

# Sunday noon, business time: long after the night's run, before the week's first campaign.
incremental_audit_schedule = dg.ScheduleDefinition(
    job=incremental_audit, cron_schedule="0 12 * * 0", execution_timezone=SETTINGS.timezone)
