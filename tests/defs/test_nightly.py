"""A generated month, ingested night by night through the real Dagster job.

The reconciliation is checked against the raw files themselves, counted independently of the
ingestion code, so the test fails if a single row goes missing anywhere.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import duckdb
import pytest


pytestmark = pytest.mark.xdist_group("month")


def _raw_records(path: Path) -> int:
    """Records in a raw file, counted naively: non-blank lines, or CSV rows after the header."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    if ".csv" in path.name:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        rows = list(csv.reader(io.StringIO(text, newline="")))
        return sum(1 for r in rows[1:] if any(c.strip() for c in r))
    return sum(1 for line in data.split(b"\n") if line.strip())


def test_every_night_of_a_noisy_month_passes_its_gates(ingested_month):
    _, _, results = ingested_month
    assert [n.day for n in results if not n.success] == []
    assert len(results) == 30
    assert all(n.rows.get("lake/app", 0) > 0 for n in results)


def test_every_raw_row_is_in_the_lake_quarantined_or_deduplicated(ingested_month):
    data_dir, _, _ = ingested_month
    con = duckdb.connect()
    log = {r[0]: r[1:] for r in con.execute(
        f"SELECT file, rows_read, rows_in_lake, rows_quarantined, rows_deduplicated, status "
        f"FROM '{data_dir}/lake/_ingest_log.parquet'").fetchall()}
    in_lake = dict(con.execute(f"SELECT _source_file, count(*) FROM read_parquet('{data_dir}/lake/*/*/*/part-0.parquet', "
                               f"union_by_name = true) GROUP BY 1").fetchall())
    quarantined = dict(con.execute(f"SELECT _source_file, count(*) FROM read_parquet("
                                   f"'{data_dir}/quarantine/*/*/rows.parquet') GROUP BY 1").fetchall())
    # rows of erased people, removed after ingestion (the month holds erasure requests)
    erased = {(store, f): n for store, f, n in con.execute(
        f"SELECT r.store, r.source_file, sum(r.rows) FROM (SELECT unnest(removed_by_file) AS r "
        f"FROM '{data_dir}/lake/_erasure_log.parquet') GROUP BY 1, 2").fetchall()}
    assert sum(erased.values()) > 0
    raw_files = sorted(p for p in (data_dir / "raw").rglob("*") if p.is_file())
    assert len(raw_files) > 300
    kinds = {"duplicate_file": 0, "ingested": 0, "empty": 0}
    for path in raw_files:
        rel = path.relative_to(data_dir).as_posix()
        rows_read, lake_rows, quarantine_rows, deduplicated, status = log[rel]
        kinds[status] = kinds.get(status, 0) + 1
        assert rows_read == _raw_records(path), rel
        assert rows_read == lake_rows + quarantine_rows + deduplicated, rel
        assert in_lake.get(rel, 0) + erased.get(("lake", rel), 0) == lake_rows, rel
        assert quarantined.get(rel, 0) + erased.get(("quarantine", rel), 0) == quarantine_rows, rel
    assert kinds["duplicate_file"] > 0 and kinds.get("refused", 0) == 0
    totals = con.execute(f"SELECT sum(rows_quarantined), sum(rows_deduplicated) "
                         f"FROM '{data_dir}/lake/_ingest_log.parquet'").fetchone()
    assert totals[0] > 0 and totals[1] > 0  # the noise was there, and was handled


def test_the_lake_holds_the_true_orders(ingested_month):
    data_dir, _, _ = ingested_month
    con = duckdb.connect()
    truth = con.execute(f"SELECT count(*), count(*) FILTER (o.order_id IN (SELECT order_id FROM read_parquet("
                        f"'{data_dir}/lake/mall_orders/orders/*/part-0.parquet') UNION ALL SELECT order_id FROM "
                        f"read_parquet('{data_dir}/lake/pos/order_lines/*/part-0.parquet'))) "
                        f"FROM '{data_dir}/truth/orders.parquet' o").fetchone()
    assert truth[0] > 100
    assert truth[1] / truth[0] > 0.97  # the rest sit in quarantine (truncated lines, future timestamps)
