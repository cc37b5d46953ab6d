"""The lake's state (what decides whether a night may keep models) reads each file's footer once
per version of the file, and still sees a file changed behind the pipeline's back."""
from __future__ import annotations

import json
import os
import shutil
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.reuse import lake_state


def _write(path, values):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"amount": pa.array(values, pa.int64())}), path, compression="none",
                   use_dictionary=False)


def test_the_lake_state_reads_footers_once_and_sees_a_file_replaced_behind_its_back(tmp_path):
    layout = Layout(tmp_path)
    first = layout.lake_file("app", "events", date(2026, 1, 1))
    _write(first, [1, 2, 3])
    _write(layout.lake_file("app", "events", date(2026, 1, 2)), [])      # a night without a delivery
    state = lake_state(layout, "2026-01-02")
    known = json.loads((layout.warehouse.parent / "lake_files.json").read_text())
    assert sorted(known) == ["app/events/delivery_date=2026-01-01/part-0.parquet",
                             "app/events/delivery_date=2026-01-02/part-0.parquet"]
    assert [entry[4] for _, entry in sorted(known.items())] == [3, 0]

    # the same answer from the kept footers, from none, and with another empty night
    assert lake_state(layout, "2026-01-02") == state
    (layout.warehouse.parent / "lake_files.json").unlink()
    _write(layout.lake_file("app", "events", date(2026, 1, 3)), [])
    assert lake_state(layout, "2026-01-03") == state
    # a rerun that writes the same bytes again changes nothing
    _write(first, [1, 2, 3])
    assert lake_state(layout, "2026-01-03") == state

    # another file of the same size put in its place with its times set back (a copy that keeps
    # times): read again, so the state changes and the night builds from it
    times = first.stat()
    other = tmp_path / "other.parquet"
    _write(other, [7, 8, 9])
    assert other.stat().st_size == times.st_size
    shutil.copyfile(other, first)
    os.utime(first, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert first.stat().st_mtime_ns == times.st_mtime_ns and first.stat().st_size == times.st_size
    assert lake_state(layout, "2026-01-03") != state

    # a file gone leaves the kept footers too
    shutil.rmtree(layout.lake_partition("app", "events", date(2026, 1, 3)))
    lake_state(layout, "2026-01-03")
    assert "app/events/delivery_date=2026-01-03/part-0.parquet" not in \
        json.loads((layout.warehouse.parent / "lake_files.json").read_text())
