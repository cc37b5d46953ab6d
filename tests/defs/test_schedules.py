"""The new-delivery sensor asks for a night once its folders have settled, and only once."""
from __future__ import annotations

import os
import time

import dagster as dg

from pipelines.defs.ingest.schedules import SETTLE_SECONDS, new_delivery_sensor
from pipelines.defs.resources import LakeResource


def _deliver(root, source: str, day: str, age_s: float) -> None:
    path = root / "raw" / source / day / "part.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))


def _evaluate(root, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"lake": LakeResource(data_dir=str(root))})
    return new_delivery_sensor(context)


def test_a_settled_delivery_is_run_once_and_a_fresh_one_waits(tmp_path):
    _deliver(tmp_path, "app", "2026-02-01", age_s=SETTLE_SECONDS + 60)
    _deliver(tmp_path, "app", "2026-02-02", age_s=5)  # still arriving
    _deliver(tmp_path, "nonsense", "2026-02-03", age_s=SETTLE_SECONDS + 60)  # not a source
    first = _evaluate(tmp_path, None)
    assert [r.partition_key for r in first.run_requests] == ["2026-02-01"]
    assert _evaluate(tmp_path, first.cursor).run_requests == []

    _deliver(tmp_path, "pos", "2026-02-01", age_s=SETTLE_SECONDS + 60)  # a late file for that night
    again = _evaluate(tmp_path, first.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2026-02-01"]
