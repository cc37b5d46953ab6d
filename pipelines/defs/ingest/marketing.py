"""Marketers' uploads (manual tags, member lists) into the lake, re-read whole every night."""

from collections import Counter

import dagster as dg

from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.lib.ingest.marketing import read_uploads, write_uploads
from pipelines.lib.specs import load_specs
from pipelines.lib.warehouse.dbt import PROJECT_DIR

MARKETING = dg.AssetKey(["lake", "marketing"])


# after the night's erasures: uploads naming someone erased tonight are dropped tonight
@dg.asset(key=MARKETING, group_name="lake", partitions_def=DELIVERY_DATES, kinds={"csv", "parquet"},
          deps=[dg.AssetKey("erasures")],
          backfill_policy=dg.BackfillPolicy.multi_run(1))
def marketing(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Manual tags and uploaded member lists marketers dropped under marketing/, checked row by row."""
    uploads = read_uploads(lake.layout, set(load_specs(PROJECT_DIR).manual_tags))
    write_uploads(lake.layout, uploads)
    for r in uploads.rejected[:20]:
        context.log.warning(f"{r['source_file']} line {r['line']}: {r['reason']}")
    return dg.MaterializeResult(metadata={
        "files": uploads.files,
        "manual_tag_rows": len(uploads.tags),
        "list_rows": len(uploads.lists),
        "rows_quarantined": len(uploads.rejected),
        "rows_of_erased_people": uploads.erased,
        "rows_per_list": dict(Counter(r["list"] for r in uploads.lists)),
        "quarantine_reasons": uploads.reasons(),
        "quarantine_samples": dg.MetadataValue.md("\n".join(
            f"- {r['source_file']} line {r['line']}: {r['reason']}" for r in uploads.rejected[:20]) or "none"),
    })
