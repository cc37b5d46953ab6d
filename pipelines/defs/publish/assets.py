"""Publishing: what the night hands to consumers, after the warehouse and its gates passed and
erasures were applied (a failed build stops these assets; yesterday's files stay)."""

from datetime import date

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.publish.audiences import PublishRefused, publish_audience
from pipelines.lib.publish.conversions import publish_conversions
from pipelines.lib.publish.report import publish_report
from pipelines.lib.publish.snapshot import publish_snapshot
from pipelines.lib.specs import load_specs
from pipelines.lib.warehouse.dbt import PROJECT_DIR

AUDIENCES = load_specs(PROJECT_DIR).audiences


@dg.asset(key=["published", "conversions"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[dg.AssetKey("ad_conversions"), dg.AssetKey("erasures")], pool="warehouse", kinds={"csv", "parquet"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def conversion_files(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Offline-conversion files per ad platform: published/conversions/<platform>/<date>/."""
    rows = publish_conversions(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(rows.values()),
                                          **{f"rows/{platform}": n for platform, n in rows.items()}})


@dg.asset(key=["published", "audiences"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[*(dg.AssetKey(a.name) for a in AUDIENCES), dg.AssetKey("erasures")], pool="warehouse",
          kinds={"csv", "parquet"}, backfill_policy=dg.BackfillPolicy.multi_run(1))
def audience_files(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Every audience's folder for the night: published/audiences/<audience>/<date>/ (members without
    the holdout, without consent for the purpose and on the suppression list; entered/exited
    against the previous published day). An audience refused by a gate keeps yesterday's folder,
    the others are still published, and the step fails naming it."""
    night = date.fromisoformat(context.partition_key)
    metadata, refused = {}, []
    for audience in AUDIENCES:
        try:
            done = publish_audience(lake.layout, audience, night, context.run_id)
        except PublishRefused as refusal:
            refused.append(str(refusal))
            continue
        metadata.update({f"{done.audience}/rows": done.rows, f"{done.audience}/entered": done.entered,
                         f"{done.audience}/exited": done.exited, f"{done.audience}/holdout": done.holdout,
                         f"{done.audience}/without_consent": done.without_consent,
                         f"{done.audience}/suppressed": done.suppressed})
    if refused:
        raise dg.Failure(description="Audiences not published: " + " | ".join(refused), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(key=["published", "snapshot"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[audience_files, conversion_files], pool="warehouse", kinds={"duckdb"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def analyst_snapshot(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """published/cdp.duckdb: the night's tables for analysts, built aside and swapped in last, once
    everything before it passed (a failed night leaves yesterday's file)."""
    rows = publish_snapshot(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"tables": len(rows), **{f"rows/{t}": n for t, n in rows.items()}})


@dg.asset(key=["published", "report"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[analyst_snapshot], pool="warehouse", kinds={"html"}, backfill_policy=dg.BackfillPolicy.multi_run(1))
def run_report(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """published/reports/<date>/index.html: the night on one static page (rows per stage, gates,
    audiences, funnel, lifecycle, attribution by model), charts as inline SVG."""
    page = publish_report(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(page))})
