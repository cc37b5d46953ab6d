"""A night's erasure requests applied together, in one pass over the lake and the quarantine:
each request is logged with what it removed, and a row holding two requested people's
identifiers is removed once and counted once."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.layout import Layout
from pipelines.lib.privacy.erasure import (_append_log, _Removal, erase_members, erase_requested, named_in_lake,
                                           pending_requests)

DAY = date(2026, 3, 2)


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def rows_of(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}', hive_partitioning = false) ORDER BY ALL").fetchall()


def test_requests_of_one_night_are_applied_together_and_each_row_counted_once(tmp_path):
    layout = Layout(tmp_path)
    members = layout.lake_partition("crm", "members", DAY) / "part-0.parquet"
    write(members, [
        {"member_id": "M000101", "phone": "+8613700000001", "email": "a@qq.com", "_source_file": "crm/members.csv"},
        {"member_id": "M000102", "phone": "+8613700000002", "email": "b@qq.com", "_source_file": "crm/members.csv"},
        {"member_id": "M000103", "phone": "+8613700000003", "email": "c@qq.com", "_source_file": "crm/members.csv"}])
    events = layout.lake_partition("app", "events", DAY) / "part-0.parquet"
    event = {"message_id": None, "anonymous_id": None, "user_id": None, "referrer_id": None, "trait_phone": None,
             "trait_email": None, "_source_file": "app/events.jsonl"}
    write(events, [
        {**event, "message_id": "m1", "anonymous_id": "dev-a", "user_id": "M000101"},
        {**event, "message_id": "m2", "anonymous_id": "dev-b", "trait_phone": "+8613700000002"},
        # one row naming both people: removed once, counted for the first request (M000101)
        {**event, "message_id": "m3", "user_id": "M000101", "trait_email": "b@qq.com"},
        {**event, "message_id": "m4", "anonymous_id": "dev-c", "user_id": "M000103"}])
    quarantined = layout.quarantine_partition("app", DAY) / "rows.parquet"
    write(quarantined, [
        {"_source_file": "app/events.jsonl", "line": 7, "raw": '{"email": "B@QQ.com", "bad": true}'},
        {"_source_file": "app/events.jsonl", "line": 9, "raw": '{"phone": "137 0000 0003"}'}])

    report = erase_members(layout, DAY, [("M000101", datetime(2026, 3, 2, 8), False), ("M000102", datetime(2026, 3, 2, 9), False),
                                         ("M000999", datetime(2026, 3, 2, 9), False)])

    assert (report.requests, report.erased, report.unknown_members, report.rows_removed) == (3, 2, 1, 6)
    assert report.files_rewritten == ["lake/app/events/delivery_date=2026-03-02/part-0.parquet",
                                      "lake/crm/members/delivery_date=2026-03-02/part-0.parquet",
                                      "quarantine/app/delivery_date=2026-03-02/rows.parquet"]
    assert rows_of(events) == [("m4", "dev-c", "M000103", None, None, None, "app/events.jsonl")]
    assert [r[0] for r in rows_of(members)] == ["M000103"]
    assert [r[1] for r in rows_of(quarantined)] == [9]          # M000103's phone stays: only M000101 and M000102 asked
    log = duckdb.sql(f"""
        SELECT status, rows_removed, [(r.store, r.source_file, r.rows) for r in removed_by_file], len(files_rewritten)
        FROM read_parquet('{layout.erasure_log}') ORDER BY requested_at, status""").fetchall()
    assert log == [
        ("erased", 3, [("lake", "app/events.jsonl", 2), ("lake", "crm/members.csv", 1)], 2),
        ("erased", 3, [("lake", "app/events.jsonl", 1), ("lake", "crm/members.csv", 1),
                       ("quarantine", "app/events.jsonl", 1)], 3),
        ("unknown_member", 0, [], 0)]
    # every file keeps its own columns (no folder name read as a column)
    assert pq.read_schema(events).names == list(event)


def test_every_delivery_of_an_erased_record_goes_even_one_that_no_longer_names_them(tmp_path):
    """A record delivered again past the lake's dedupe lookback is the same record (its natural
    key): erasure takes that copy too, though a corrected export dropped the person's ids."""
    layout = Layout(tmp_path)
    write(layout.lake_partition("crm", "members", DAY) / "part-0.parquet",
          [{"member_id": "M000101", "phone": "+8613700000001", "email": "a@qq.com", "_source_file": "crm/members.csv"}])
    event = {"message_id": None, "anonymous_id": None, "user_id": None, "referrer_id": None, "trait_phone": None,
             "trait_email": None, "_source_file": "app/events.jsonl"}
    first = layout.lake_partition("app", "events", date(2026, 2, 1)) / "part-0.parquet"
    again = layout.lake_partition("app", "events", DAY) / "part-0.parquet"
    write(first, [{**event, "message_id": "m1", "user_id": "M000101"},
                  {**event, "message_id": "m2", "anonymous_id": "dev-x"}])
    write(again, [{**event, "message_id": "m1", "anonymous_id": "dev-y"},      # the same record, ids corrected
                  {**event, "message_id": "m3", "anonymous_id": "dev-y"}])

    report = erase_members(layout, DAY, [("M000101", datetime(2026, 3, 2, 8), False)])

    assert [r[0] for r in rows_of(first)] == ["m2"]
    assert [r[0] for r in rows_of(again)] == ["m3"]
    assert (report.erased, report.rows_removed) == (1, 3)
    assert report.files_rewritten == ["lake/app/events/delivery_date=2026-02-01/part-0.parquet",
                                      "lake/app/events/delivery_date=2026-03-02/part-0.parquet",
                                      "lake/crm/members/delivery_date=2026-03-02/part-0.parquet"]


def test_a_request_after_an_erasure_was_reapplied_is_still_pending(tmp_path):
    """Ingestion logs erasures it applied again (`reapplied`) without a member: that row must not
    hide the requests that come after it."""
    layout = Layout(tmp_path)
    write(layout.lake_partition("crm", "members", DAY) / "part-0.parquet",
          [{"member_id": "M000101", "phone": "+8613700000001", "email": "a@qq.com", "_source_file": "crm/members.csv"}])
    write(layout.lake_partition("crm", "erasure_requests", DAY) / "part-0.parquet",
          [{"member_id": "M000101", "requested_at": datetime(2026, 3, 2, 8), "_source_file": "crm/erasure_requests.csv"}])
    _append_log(layout, date(2026, 3, 1), [(None, None, None, "reapplied", [], _Removal(by_file={("lake", "app/x"): 1}))])

    assert [member for member, _, _ in pending_requests(layout, DAY)] == ["M000101"]
    assert erase_requested(layout, DAY).erased == 1
    assert pending_requests(layout, DAY) == []


def test_only_member_ids_some_lake_record_names_need_identity_first(tmp_path):
    """A member id that no record names (its erasure request aside) is unknown without building
    identity: it may stay pending for ever without costing a build every night."""
    layout = Layout(tmp_path)
    write(layout.lake_partition("crm", "erasure_requests", DAY) / "part-0.parquet",
          [{"member_id": m, "requested_at": datetime(2026, 3, 2, 8), "_source_file": "crm/erasure_requests.csv"}
           for m in ("M000101", "M000102", "MNOBODY")])
    write(layout.lake_partition("pos", "order_lines", DAY) / "part-0.parquet",
          [{"order_id": "P1", "member_card": "M000102", "phone": None, "_source_file": "pos/till.csv"}])
    event = {"message_id": "m1", "anonymous_id": "dev-a", "user_id": "M000101", "referrer_id": None,
             "trait_phone": None, "trait_email": None, "_source_file": "app/events.jsonl"}
    write(layout.lake_partition("app", "events", date(2026, 2, 1)) / "part-0.parquet", [event])
    assert named_in_lake(layout, ["M000101", "M000102", "MNOBODY"]) == {"M000101", "M000102"}
    assert named_in_lake(layout, ["MNOBODY"]) == set()
    assert named_in_lake(layout, []) == set()


def test_a_long_known_member_leaves_every_snapshot_each_rewritten_once(tmp_path):
    """A member in every nightly CRM snapshot: each snapshot file is rewritten (by the rewrite's
    workers, one per DuckDB thread) without them and with everyone else."""
    layout = Layout(tmp_path)
    days = [date(2026, 3, d) for d in range(1, 13)]
    for day in days:
        write(layout.lake_file("crm", "members", day), [
            {"member_id": f"M{n:06d}", "phone": f"+86137{n:08d}", "email": None, "_source_file": f"crm/{day}.csv"}
            for n in range(1, 6)])

    report = erase_members(layout, DAY, [("M000003", datetime(2026, 3, 12, 8), False)])

    assert (report.erased, report.rows_removed, len(report.files_rewritten)) == (1, 12, 12)
    for day in days:
        assert [r[0] for r in rows_of(layout.lake_file("crm", "members", day))] == [
            "M000001", "M000002", "M000004", "M000005"]
    assert not list(tmp_path.rglob("*.erasing"))


def test_a_rewrite_that_fails_stops_the_erasure_before_it_is_logged(tmp_path):
    """One file cannot be rewritten (its staging name is taken by a folder): the error reaches
    the caller and the request is not logged, so it stays pending for the next night."""
    layout = Layout(tmp_path)
    days = [date(2026, 3, d) for d in range(1, 5)]
    for day in days:
        write(layout.lake_file("crm", "members", day), [
            {"member_id": "M000001", "phone": "+8613700000001", "email": None, "_source_file": f"crm/{day}.csv"}])
    blocked = layout.lake_file("crm", "members", days[2])
    blocked.with_name(blocked.name + ".erasing").mkdir()

    try:
        erase_members(layout, DAY, [("M000001", datetime(2026, 3, 4, 8), False)])
    except duckdb.Error as error:
        assert "erasing" in str(error)
    else:
        raise AssertionError("the failed rewrite was not reported")
    assert not layout.erasure_log.exists()
    assert [r[0] for r in rows_of(blocked)] == ["M000001"]
