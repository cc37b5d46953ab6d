"""The ingest log is folded into by each source's process while others read it (a backfill's
sources ingest in parallel worker processes): a reader sees one whole version, never a torn file."""
from __future__ import annotations

import multiprocessing
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from pipelines.lib.ingest.ingest_log import _fold_in, read_log
from pipelines.lib.ingest.report import LOG_SCHEMA
from pipelines.lib.layout import Layout

NIGHTS = 150


def _fragment(day: date):
    row = {name: None for name in LOG_SCHEMA.names}
    row.update(source="app", delivery_date=day, file=f"raw/app/{day}/events.jsonl", status="ingested")
    return pa.Table.from_pylist([row] * 200, schema=LOG_SCHEMA)


def _fold_nights(data_dir: str) -> None:
    layout = Layout(Path(data_dir))
    for day in (date(2026, 1, 1) + timedelta(days=i) for i in range(NIGHTS)):
        _fold_in(layout, "app", {day: _fragment(day)})


def test_a_reader_never_sees_a_half_replaced_log(tmp_path):
    layout = Layout(tmp_path)
    layout.lake.mkdir(parents=True)
    writer = multiprocessing.get_context("spawn").Process(target=_fold_nights, args=(str(tmp_path),))
    writer.start()
    seen = []
    while writer.is_alive() or not seen:
        seen.append(read_log(layout).num_rows)      # raises on a torn file
    writer.join()
    assert writer.exitcode == 0
    # whole versions only: 200 rows a night folded in, never fewer than the last version read
    assert all(n % 200 == 0 for n in seen) and seen == sorted(seen)
    assert read_log(layout).num_rows == NIGHTS * 200
