"""An erasure request, through the real nightly job: the person leaves every file the pipeline owns,
the request is on record without their identifiers, and nobody else loses anything."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.lib.privacy.erasure import erase_requested, pending_requests
from pipelines.lib.privacy.history import ERASED, HISTORY, compaction_owed_since
from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.replay import full_refresh_differences
from pipelines.runner import run_nights
from pipelines.settings import Settings
from tests.lib.conftest import DAY, Landing
from tests.warehouse.conftest import query
from tests.warehouse.test_identity_rules import CRM_HEADER, POS_HEADER, crm_row, identify, pos_row, track

pytestmark = pytest.mark.xdist_group("erasure")

ERASED_VALUES = ("dev-e", "+8613712345678", "erase.me@qq.com", "ME1", "MC1", "+8613900009999", "only.crm@qq.com")
DAY_BEFORE = DAY.fromordinal(DAY.toordinal() - 1)


@pytest.fixture(scope="module")
def erased(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("erasure")
    landing = Landing(root)
    # the person is already a customer the night before: their traits of that night are history
    landing.write_jsonl("app", "events.jsonl", [identify("e0", "dev-e", "ME1", "137 1234 5678", "erase.me@qq.com")],
                        day=DAY_BEFORE)
    landing.write_jsonl("app", "events.jsonl", [
        identify("e1", "dev-e", "ME1", "137 1234 5678", "erase.me@qq.com"),
        track("e2", "dev-e", event="Product Viewed"),
        identify("k1", "dev-k", "MK1", "13787654321", "keep.me@qq.com"),
        track("k2", "dev-k", event="Product Viewed")])
    # yesterday's snapshot still holds a member only the CRM knows
    landing.write("crm", "members.csv", CRM_HEADER + crm_row("MK1", "13787654321", "keep.me@qq.com")
                  + crm_row("MC1", "13900009999", "only.crm@qq.com"), day=DAY_BEFORE)
    # tonight both are gone from the snapshot; the requests arrive beside it
    landing.write("crm", "members.csv", CRM_HEADER + crm_row("MK1", "13787654321", "keep.me@qq.com"))
    landing.write("crm", "erasure_requests.csv", "member_id,requested_at\nME1,2026-03-02 08:00:00\n"
                                                  "MC1,2026-03-02 08:01:00\nMNOBODY,2026-03-02 08:05:00\n")
    landing.write("pos", "till.csv", POS_HEADER + pos_row("PE", "ME1", "13712345678") + pos_row("PK", "MK1", "")
                  # a bad line (quantity) quarantined with the person's phone in its raw text
                  + "PQ,S001,G01,,13712345678,2026-03-02 16:00:00,SKU1,P1,skincare,lots,99.00,99.00,0,,cash\n")
    os.environ["CDP_DAGSTER_STORAGE"] = str(root / ".dagster")
    nights = run_nights([DAY_BEFORE, DAY], Settings.from_env(root), build_each_night=True)
    assert all(n.success for n in nights), nights[-1].explain()
    return root


def parquet_text(path: Path) -> str:
    return "\n".join(str(row) for row in duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall())


def test_no_lake_or_quarantine_file_holds_the_erased_person(erased):
    files = sorted((erased / "lake").rglob("part-0.parquet")) + sorted((erased / "quarantine").rglob("rows.parquet"))
    assert files
    text = "\n".join(parquet_text(f) for f in files)
    assert "dev-k" in text and "MK1" in text                   # everyone else is still there
    assert [v for v in ERASED_VALUES if v in text] == []
    assert "13712345678" not in text.replace("+86", "")
    # rewritten files keep their own columns: the folder's delivery_date does not become one
    assert [f for f in files if "delivery_date" in pq.read_schema(f).names] == []


def test_the_warehouse_is_rebuilt_without_them_and_owes_its_file_a_rewrite(erased):
    assert query(erased, "SELECT count(*) FROM customers WHERE member_id = 'ME1'") == [(0,)]
    assert query(erased, "SELECT count(*) FROM orders WHERE order_id = 'PE'") == [(0,)]
    assert query(erased, "SELECT count(*) FROM customers WHERE member_id = 'MK1'") == [(1,)]
    # nobody can query them, but deleted rows and replaced tables keep their bytes in the file
    # until it is rewritten: owed from tonight, done within CDP_COMPACT_WITHIN_DAYS (7) nights
    assert compaction_owed_since(Layout(erased).warehouse) == DAY
    raw = (erased / "warehouse" / "cdp.duckdb").read_bytes()
    assert b"dev-e" in raw


def test_the_night_is_built_once_after_identity_alone(erased):
    """Pending requests: identity alone is built as of the night (who is the member?), the lake is
    erased, then the night's build builds everything once from the erased lake."""
    dbt_dir = erased / "warehouse" / "dbt"
    identity_log = (dbt_dir / f"identity-before-erasure-{DAY}.log").read_text()
    assert "identity_resolution" in identity_log and "stg_app__events" in identity_log
    assert "customer_traits" not in identity_log and "audience_membership" not in identity_log
    assert not (dbt_dir / f"identity-before-erasure-{DAY_BEFORE}.log").exists()   # nothing pending then
    assert sorted(p.name for p in dbt_dir.glob("rebuild-*.log")) == []


def test_the_incremental_tables_reloaded_the_rewritten_deliveries(erased):
    # erasure rewrote both nights' lake files without a new ingest log entry: the rebuild was
    # told to reload from the earliest of them, so they equal a full refresh of the erased lake
    assert full_refresh_differences(Settings.from_env(erased)) == (DAY, [])
    assert query(erased, "SELECT count(*) FROM stg_app__events WHERE device_id = 'dev-e'") == [(0,)]
    assert query(erased, "SELECT count(*) FROM stg_app__events WHERE device_id = 'dev-k'") == [(2,)]


def test_each_request_is_logged_once_without_the_member_id(erased):
    log = duckdb.sql(f"SELECT status, customer_id IS NOT NULL, identifiers, rows_removed, len(files_rewritten) "
                     f"FROM read_parquet('{Layout(erased).erasure_log}') ORDER BY status, identifiers").fetchall()
    # ME1: yesterday's identify, tonight's identify + event, till line, quarantined line;
    # MC1: yesterday's CRM row only
    assert log == [("erased", False, 3, 1, 1), ("erased", True, 4, 5, 4), ("unknown_member", False, 0, 0, 0)]
    assert b"ME1" not in Layout(erased).erasure_log.read_bytes()
    assert b"MC1" not in Layout(erased).erasure_log.read_bytes()
    # applying the night's requests again finds nothing left to do
    again = erase_requested(Layout(erased), DAY)
    assert (again.requests, again.rows_removed) == (0, 0)


def test_history_tables_hold_no_row_of_the_erased_customer(erased):
    [(erased_id,)] = duckdb.sql(f"SELECT customer_id FROM read_parquet('{Layout(erased).erasure_log}') "
                                f"WHERE customer_id IS NOT NULL").fetchall()
    # the night before, the person had traits like everyone else...
    assert query(erased, "SELECT count(DISTINCT as_of_date), count(*) FILTER (WHERE as_of_date = ?) "
                         "FROM customer_traits", DAY_BEFORE)[0] == (2, 1)             # MK1 only is left
    # ...and no history table keeps a row of them
    for table, columns in HISTORY.items():
        where = " OR ".join(f"{c} = ?" for c in columns)
        assert query(erased, f"SELECT count(*) FROM {table} WHERE {where}", *[erased_id] * len(columns)) == [(0,)], table
    # the log of changed customer-days keeps its rows (each build's number), without their id
    [(kept_id, overwritten)] = query(erased, "SELECT count(*) FILTER (WHERE customer_id = ?), count(*) FILTER "
                                             "(WHERE customer_id = ?) FROM restated_customer_days", erased_id, ERASED)
    assert kept_id == 0 and overwritten > 0
    # the log of moved records (record ids: a CRM record's is its member id) keeps only its last
    # number, under no record: its reader had read every entry
    assert query(erased, "SELECT count(*) FILTER (WHERE source <> ?), count(*) FILTER (WHERE "
                         "source = ? AND seq = (SELECT max(seq) FROM moved_records)) FROM moved_records",
                 ERASED, ERASED) == [(0, 1)]


def test_a_rerun_night_is_erased_again(erased):
    """Re-ingesting the night brings the raw rows back; ingestion removes them again before the
    night's build reads anything, and no erased member's request is pending again (the unknown
    one is, as every night: their data may arrive later, but no record names them, so identity
    is not built first for them)."""
    identity_first = erased / "warehouse" / "dbt" / f"identity-before-erasure-{DAY}.log"
    identity_first.unlink()
    [night] = run_nights([DAY], Settings.from_env(erased))
    assert night.success
    text = "\n".join(parquet_text(f) for f in sorted((erased / "lake").rglob("part-0.parquet")))
    assert [v for v in ERASED_VALUES if v in text] == []
    statuses = duckdb.sql(f"SELECT status, sum(rows_removed) FROM read_parquet('{Layout(erased).erasure_log}') "
                          f"WHERE status = 'reapplied' GROUP BY 1").fetchall()
    assert statuses == [("reapplied", 3)]     # ME1's 3 lake rows of the night (quarantine: by raw text only)
    # removed as each source was ingested (app: 2 rows, pos: 1): the night's build never saw them
    assert sorted(r for (r,) in duckdb.sql(f"SELECT rows_removed FROM read_parquet('{Layout(erased).erasure_log}') "
                                          f"WHERE status = 'reapplied'").fetchall()) == [1, 2]
    # the log's `reapplied` rows name no member, and hide no request
    assert [member for member, _, _ in pending_requests(Layout(erased), DAY)] == ["MNOBODY"]
    assert not identity_first.exists()
    # the build after the erasure night went on from the moved records' last number
    assert full_refresh_differences(Settings.from_env(erased)) == (DAY, [])
    assert query(erased, "SELECT count(*) FROM customers WHERE member_id = 'ME1'") == [(0,)]
    # the rewrite is still owed from the first night that left erased bytes
    assert compaction_owed_since(Layout(erased).warehouse) == DAY
    # the three requests are still logged once each
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{Layout(erased).erasure_log}') "
                      f"WHERE status <> 'reapplied'").fetchall() == [(3,)]


def test_the_analyst_snapshot_is_written_afresh_without_them(erased):
    """Nothing carried over from yesterday's file, not even a night of a history table: a copied
    file would keep the person's bytes in its free blocks."""
    path = erased / "published" / "cdp.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT as_of_date, carried_over, copied_nights FROM _snapshot").fetchone() == \
            (DAY, [], "{}")
        assert con.execute("SELECT count(*) FROM customer_traits WHERE as_of_date = ?", [DAY_BEFORE]).fetchone() \
            == (1,)
    raw = path.read_bytes()
    assert b"dev-e" not in raw and b"erase.me@qq.com" not in raw and b"ME1" not in raw


def test_the_file_is_rewritten_once_the_oldest_erased_bytes_are_due(erased):
    """A night CDP_COMPACT_WITHIN_DAYS (7) after the erasure rewrites the warehouse from its live
    tables: the person's bytes, their customer id's included, leave the file."""
    [erased_id] = [r for (r,) in duckdb.sql(f"SELECT customer_id FROM read_parquet('{Layout(erased).erasure_log}') "
                                            f"WHERE customer_id IS NOT NULL").fetchall()]
    [night] = run_nights([DAY.fromordinal(DAY.toordinal() + 7)], Settings.from_env(erased))
    assert night.success, night.explain()
    assert compaction_owed_since(Layout(erased).warehouse) is None
    raw = (erased / "warehouse" / "cdp.duckdb").read_bytes()
    assert [v for v in (b"dev-e", b"erase.me@qq.com", erased_id.encode()) if v in raw] == []
    assert query(erased, "SELECT count(*) FROM customers WHERE member_id = 'MK1'") == [(1,)]
