"""Staging keeps one row per record: a record delivered again after ingestion's dedupe lookback
(7 days for events) reaches the lake twice, and staging keeps its first delivery's row."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from tests.conftest import pristine_month
from tests.warehouse.conftest import dbt_build, query

# lake entity -> staging model, a column the re-sent copy changes, and how staging finds the record
RESENT = {
    "app/events": ("stg_app__events", "page_url", "record_id = $message_id"),
    # the mini-program's record id is a hash of its natural key, which `scene` is not part of
    "miniprogram/events": ("stg_miniprogram__events", "scene",
                           "openid = $appid || ':' || $openid AND source_event = $event AND occurred_at = $occurred_at "
                           "AND page_path IS NOT DISTINCT FROM $page_path"),
}


def _night(partition: Path) -> str:
    return partition.parent.name.removeprefix("delivery_date=")


def _resend_first_record(first: Path, last: Path, changed: str) -> dict:
    """Append the first delivery's first row to the last delivery's file with `changed` altered;
    the row as first delivered."""
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE original AS SELECT * FROM read_parquet('{first}', hive_partitioning = false) "
                    f"ORDER BY ALL LIMIT 1")
        con.execute(f"CREATE TABLE resent AS SELECT * FROM read_parquet('{last}', hive_partitioning = false) "
                    f"UNION ALL BY NAME SELECT * REPLACE ('resent' AS \"{changed}\") FROM original")
        last.unlink()
        con.execute(f"COPY resent TO '{last}' (FORMAT parquet)")
        [(copies,)] = con.execute(f"SELECT count(*) FROM read_parquet('{last}') WHERE \"{changed}\" = 'resent'").fetchall()
        assert copies == 1
        cursor = con.execute("SELECT * FROM original")
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))


def test_a_record_delivered_again_after_the_lookback_keeps_its_first_delivery(ingested_month, tmp_path_factory,
                                                                               tmp_path):
    month, data_dir = pristine_month(tmp_path_factory), tmp_path / "world"
    lake = data_dir / "lake"
    for entity in RESENT:
        shutil.copytree(month / "lake" / entity, lake / entity)
    shutil.copy(month / "lake" / "_ingest_log.parquet", lake / "_ingest_log.parquet")
    resent = {}
    for entity, (_, changed, _) in RESENT.items():
        parts = sorted((lake / entity).glob("delivery_date=*/part-0.parquet"))
        resent[entity] = (_night(parts[0]), _resend_first_record(parts[0], parts[-1], changed))
        night = _night(parts[-1])

    dbt_build(data_dir, night, select=[model for model, _, _ in RESENT.values()])

    for entity, (model, changed, same_record) in RESENT.items():
        first, row = resent[entity]
        with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
            names = {k: v for k, v in row.items() if f"${k}" in same_record}
            found = con.execute(f"SELECT delivery_date::varchar, {changed} FROM {model} WHERE {same_record}",
                                names).fetchall()
        assert found == [(first, row[changed])], model
        [(rows, records)] = query(data_dir, f"SELECT count(*), count(DISTINCT record_id) FROM {model}")
        assert rows == records, model
    with duckdb.connect() as con:
        [(messages,)] = con.execute(f"SELECT count(DISTINCT message_id) FROM '{lake}/app/events/*/part-0.parquet'").fetchall()
    assert query(data_dir, "SELECT count(*) FROM stg_app__events") == [(messages,)]
