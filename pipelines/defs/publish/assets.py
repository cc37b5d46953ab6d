"""Publishing: what the night hands to consumers, after the warehouse and its gates passed and
erasures were applied (a failed build stops these assets; yesterday's files stay)."""

from datetime import date

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.publish.conversions import publish_conversions


@dg.asset(key=["published", "conversions"], group_name="publish", partitions_def=DELIVERY_DATES,
          deps=[dg.AssetKey("ad_conversions"), dg.AssetKey("erasures")], pool="warehouse", kinds={"csv", "parquet"},
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def conversion_files(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Offline-conversion files per ad platform: published/conversions/<platform>/<date>/."""
    rows = publish_conversions(lake.layout, date.fromisoformat(context.partition_key), context.run_id)
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(rows.values()),
                                          **{f"rows/{platform}": n for platform, n in rows.items()}})
