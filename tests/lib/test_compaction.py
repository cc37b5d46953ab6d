"""The warehouse file's rewrite after an erasure: owed from the first night that left erased bytes
in it, done on the first night `compact_within_days` later, and then owed no more."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.privacy.history import compaction_owed_since, forget_erased, owe_compaction

DAY = date(2026, 3, 2)
PERSON = "erased.person@qq.com"


def warehouse_with_deleted_person(layout: Layout) -> None:
    layout.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("CREATE TABLE contacts AS SELECT 'c' || i AS customer_id, 'kept' || i || '@qq.com' AS email "
                    "FROM range(5000) t(i)")
        con.execute("INSERT INTO contacts VALUES ('c-erased', ?)", [PERSON])
        con.execute("CHECKPOINT")
        con.execute("DELETE FROM contacts WHERE email = ?", [PERSON])


def test_the_rewrite_waits_for_its_day_then_removes_the_bytes_and_the_debt(tmp_path):
    layout = Layout(tmp_path)
    warehouse_with_deleted_person(layout)
    owe_compaction(layout.warehouse, DAY)
    owe_compaction(layout.warehouse, DAY + timedelta(days=2))      # a later erasure: the first night counts
    assert compaction_owed_since(layout.warehouse) == DAY
    # no erasure log: nothing else to forget, only the debt decides
    assert forget_erased(layout, DAY + timedelta(days=6), compact_within_days=7) == {}
    assert PERSON.encode() in layout.warehouse.read_bytes()           # a deleted row keeps its bytes
    assert compaction_owed_since(layout.warehouse) == DAY
    forget_erased(layout, DAY + timedelta(days=7), compact_within_days=7)
    assert PERSON.encode() not in layout.warehouse.read_bytes()
    assert compaction_owed_since(layout.warehouse) is None
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT email) FROM contacts").fetchone() == (5000, 5000)


def test_an_earlier_night_run_later_moves_the_debt_back(tmp_path):
    layout = Layout(tmp_path)
    warehouse_with_deleted_person(layout)
    owe_compaction(layout.warehouse, DAY)
    owe_compaction(layout.warehouse, DAY - timedelta(days=3))         # a rerun of an older night
    assert compaction_owed_since(layout.warehouse) == DAY - timedelta(days=3)


def test_zero_days_rewrites_on_the_night_itself(tmp_path):
    layout = Layout(tmp_path)
    warehouse_with_deleted_person(layout)
    owe_compaction(layout.warehouse, DAY)
    forget_erased(layout, DAY, compact_within_days=0)
    assert PERSON.encode() not in layout.warehouse.read_bytes()
    assert compaction_owed_since(layout.warehouse) is None
