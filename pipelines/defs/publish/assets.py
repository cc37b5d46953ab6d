"""Publishing: what the night hands to consumers, after the warehouse and its gates passed (the
build follows the night's erasures; a failed build stops these assets; yesterday's files stay).

Each output checks the gates guarding it (`pipelines/lib/publish/gates.py`) and refuses itself
when one refused: the step fails naming the gate and is not retried (a retry would meet the
same data); what does not depend on that gate is still published. Transient errors (a file
held by another process) are retried (`pipelines/lib/retries.py`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.publish.audiences import publish_audience
from pipelines.lib.publish.conversions import publish_conversions
from pipelines.lib.publish.gates import PublishRefused
from pipelines.lib.publish.report import publish_report
from pipelines.lib.publish.snapshot import publish_snapshot
from pipelines.lib.retries import retry_transient
from pipelines.lib.specs import load_specs
from pipelines.lib.warehouse.dbt import PROJECT_DIR

AUDIENCES = load_specs(PROJECT_DIR).audiences


@contextmanager
def refusals_fail_the_step() -> Iterator[None]:
    """A gate's refusal fails the step with its words, and is not retried."""
    try:
        yield
    except PublishRefused as refusal:
        raise dg.Failure(description=str(refusal), allow_retries=False) from refusal


@dg.asset(key=["published", "conversions"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[dg.AssetKey("ad_conversions")], pool="warehouse", kinds={"csv", "parquet"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def conversion_files(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Offline-conversion files per ad platform: published/conversions/<platform>/<date>/."""
    with refusals_fail_the_step(), retry_transient(context):
        rows = publish_conversions(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(rows.values()),
                                          **{f"rows/{platform}": n for platform, n in rows.items()}})


@dg.asset(key=["published", "audiences"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[dg.AssetKey(a.name) for a in AUDIENCES], pool="warehouse",
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
            with retry_transient(context):
                done = publish_audience(lake.layout, audience, night, context.run_id)
        except PublishRefused as refusal:
            refused.append(str(refusal))
            continue
        metadata.update({f"{done.audience}/rows": done.rows, f"{done.audience}/entered": done.entered,
                         f"{done.audience}/exited": done.exited, f"{done.audience}/holdout": done.holdout,
                         f"{done.audience}/without_consent": done.without_consent,
                         f"{done.audience}/suppressed": done.suppressed,
                         f"{done.audience}/consent_coverage": done.consent_coverage})
    if refused:
        raise dg.Failure(description="Audiences not published: " + " | ".join(refused), metadata=metadata,
                         allow_retries=False)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(key=["published", "snapshot"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[audience_files, conversion_files], pool="warehouse", kinds={"duckdb"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def analyst_snapshot(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """published/cdp.duckdb: the night's tables for analysts, built aside and swapped in last, once
    everything before it passed (a failed night leaves yesterday's file)."""
    with refusals_fail_the_step(), retry_transient(context):
        rows = publish_snapshot(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"tables": len(rows), **{f"rows/{t}": n for t, n in rows.items()}})


@dg.asset(key=["published", "report"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[analyst_snapshot], pool="warehouse", kinds={"html"}, backfill_policy=dg.BackfillPolicy.multi_run(1))
def run_report(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """published/reports/<date>/index.html: the night on one static page (rows per stage, gates,
    audiences, funnel, lifecycle, attribution by model), charts as inline SVG."""
    with retry_transient(context):
        page = publish_report(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(page))})
