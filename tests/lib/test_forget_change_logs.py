"""An erasure takes the record ids out of the change log of moved records: readers that read every
entry go on from the next number; a reader behind gets one "everything" entry and derives all."""
from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.lib.privacy.history import ERASED, forget_change_logs


def warehouse(path: Path, reads: dict[str, int]) -> Path:
    db = path / "cdp.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE moved_records (model VARCHAR, seq BIGINT, source VARCHAR, record_id VARCHAR)")
        con.execute("INSERT INTO moved_records VALUES ('record_customers', 3, 'crm', 'M000101'), "
                    "('record_customers', 4, 'crm', 'M000102'), ('record_customers', 4, 'app', 'm9')")
        con.execute("CREATE TABLE delivery_loads (model VARCHAR, source VARCHAR, delivery_date DATE, "
                    "version VARCHAR, as_of_date DATE)")
        for reader, seq in reads.items():
            con.execute("INSERT INTO delivery_loads VALUES (?, 'moved_records', NULL, ?, NULL)", [reader, str(seq)])
    return db


def entries(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT model, seq, source, record_id FROM moved_records ORDER BY ALL").fetchall()


def test_read_entries_go_and_the_last_number_stays(tmp_path):
    db = warehouse(tmp_path, {"events": 4})
    assert forget_change_logs(db) == {"moved_records": 3}
    assert entries(db) == [("record_customers", 4, ERASED, ERASED)]
    # a second erasure night finds no record to remove and keeps the number
    assert forget_change_logs(db) == {"moved_records": 0}
    assert entries(db) == [("record_customers", 4, ERASED, ERASED)]


def test_a_reader_behind_derives_everything_once(tmp_path):
    db = warehouse(tmp_path, {"events": 4, "another_reader": 3})
    assert forget_change_logs(db) == {"moved_records": 3}
    assert entries(db) == [("record_customers", 5, None, None)]


def test_no_known_reader_means_everything(tmp_path):
    db = warehouse(tmp_path, {})
    forget_change_logs(db)
    assert entries(db) == [("record_customers", 5, None, None)]
