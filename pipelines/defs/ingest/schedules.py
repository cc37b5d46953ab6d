"""When ingestion runs: nightly after midnight in the business time zone, or on new folders."""

import json
import time
from datetime import date

import dagster as dg

from pipelines.defs.ingest.assets import INGEST_ASSETS, landing_zone
from pipelines.defs.resources import DELIVERY_DATES, LakeResource
from pipelines.defs.warehouse.audit import matches_full_refresh
from pipelines.lib.ingest.landing import delivery_dates
from pipelines.lib.ingest.sources import SOURCES

# Deliveries are complete when no file in the night's folders changed for this long.
SETTLE_SECONDS = 600

nightly = dg.define_asset_job(
    # everything but the weekly audit, which reads the whole lake
    "nightly", selection=dg.AssetSelection.all() - dg.AssetSelection.checks(matches_full_refresh),
    partitions_def=DELIVERY_DATES,
    description="One night: ingest its deliveries, then build the warehouse as of that night.")

ingest = dg.define_asset_job(
    "ingest", selection=dg.AssetSelection.assets(landing_zone, *INGEST_ASSETS),
    partitions_def=DELIVERY_DATES,
    description="Only ingest one night's deliveries (backfills build the warehouse once, at the end).")

nightly_schedule = dg.build_schedule_from_partitioned_job(nightly, hour_of_day=3, minute_of_hour=0)


def _signature(lake: LakeResource, day: date) -> tuple[str, float]:
    files = [p for s in SOURCES for p in sorted(lake.layout.delivery(s, day).glob("*")) if p.is_file()]
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime) for p in files]
    newest = max((m for _, _, m in stats), default=0.0)
    return f"{len(stats)}:{sum(s for _, s, _ in stats)}", newest


@dg.sensor(job=nightly, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def new_delivery_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    """Runs a night once its delivery folders appear (or change) and have settled."""
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    requests = []
    valid = set(DELIVERY_DATES.get_partition_keys())
    for day in delivery_dates(lake.layout, set(SOURCES)):
        key = day.isoformat()
        signature, newest = _signature(lake, day)
        if key not in valid or seen.get(key) == signature or time.time() - newest < SETTLE_SECONDS:
            continue
        seen[key] = signature
        requests.append(dg.RunRequest(partition_key=key, run_key=f"{key}:{signature}"))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
