"""Latest version wins; reruns change nothing; the landing zone is never touched."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from tests.lib.conftest import DAY, segment_event


def order(status: str, updated_at: str, amount: float = 100.0) -> dict:
    return {"order_id": "MO1", "platform": "miniprogram", "status": status, "unionid": "u1", "openid": "o1",
            "member_id": "m1", "phone": "13812345678", "created_at": "2026-03-01T10:00:00+08:00",
            "paid_at": "2026-03-01T10:01:00+08:00", "updated_at": updated_at,
            "items": [{"sku": "S1", "product_id": "P1", "category": "shoes", "quantity": 1, "unit_price": amount}],
            "amount": amount, "discount": 0, "coupon_type": None, "refund_amount": None,
            "source": {"scene": "1095", "gdt_vid": "clk-1"}}


def test_the_latest_updated_at_of_an_order_wins_within_a_delivery(landing):
    landing.write_jsonl("mall_orders", "orders.jsonl", [
        order("shipped", "2026-03-02T09:00:00+08:00"), order("paid", "2026-03-01T10:01:00+08:00")])
    report = landing.ingest("mall_orders")
    [row] = landing.lake("mall_orders", "orders")
    assert (row["status"], row["member_id"], row["phone"]) == ("shipped", "M1", "+8613812345678")
    assert row["source_gdt_vid"] == "clk-1"
    assert report.total("rows_deduplicated") == 1


def test_an_older_version_delivered_later_is_a_duplicate_and_a_newer_one_lands(landing):
    landing.write_jsonl("mall_orders", "orders.jsonl", [order("shipped", "2026-03-02T09:00:00+08:00")])
    landing.ingest("mall_orders")
    nxt = DAY + timedelta(days=1)
    landing.write_jsonl("mall_orders", "orders.jsonl", [
        order("paid", "2026-03-01T10:01:00+08:00"),  # a stale re-send
        order("refunded", "2026-03-03T12:00:00+08:00")], day=nxt)
    report = landing.ingest("mall_orders", nxt)
    assert [r["status"] for r in landing.lake("mall_orders", "orders", nxt)] == ["refunded"]
    assert report.total("rows_deduplicated") == 1


def _tree_digest(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_rerun_rewrites_identical_bytes_and_never_touches_raw(landing):
    landing.write_jsonl("app", "a.jsonl", [segment_event("m1"), segment_event("m1"), segment_event("m2")])
    landing.write("app", "b.jsonl", "not json\n")
    raw_before = _tree_digest(landing.layout.raw)
    landing.ingest("app")
    lake = _tree_digest(landing.layout.lake)
    quarantine = _tree_digest(landing.layout.data_dir / "quarantine")
    landing.ingest("app")
    assert _tree_digest(landing.layout.lake) == lake
    assert _tree_digest(landing.layout.data_dir / "quarantine") == quarantine
    assert _tree_digest(landing.layout.raw) == raw_before


def test_a_rerun_after_a_fix_replaces_the_partition_instead_of_adding_to_it(landing):
    landing.write_jsonl("app", "a.jsonl", [segment_event("m1")])
    landing.write("app", "b.jsonl", "not json\n")
    landing.ingest("app")
    (landing.layout.delivery("app", DAY) / "b.jsonl").unlink()  # the channel re-cut the delivery
    landing.ingest("app")
    assert len(landing.lake("app", "events")) == 1
    assert not landing.layout.quarantine_partition("app", DAY).exists()


def test_nights_ingested_in_one_go_equal_nights_ingested_one_by_one(landing, tmp_path):
    """`ingest_deliveries` (one DuckDB for a run's nights) writes the lake, quarantine and log that
    night-by-night ingestion writes: each night still reads the ones before it (a resent event is
    deduplicated, an order's stale version too, a file delivered again is a duplicate file)."""
    import duckdb

    from pipelines.lib.ingest.delivery import ingest_deliveries
    from pipelines.lib.ingest.sources import SOURCES
    from tests.lib.conftest import Landing

    days = [DAY + timedelta(days=i) for i in range(3)]
    alone = Landing(tmp_path / "alone")
    for land in (landing, alone):
        for i, day in enumerate(days):
            land.write_jsonl("app", "e.jsonl", [segment_event(f"m{i}-{k}", ts=f"{day}T10:00:00+08:00")
                                                for k in range(5)] + [segment_event("m0-0", ts=f"{DAY}T10:00:00+08:00")]
                             + [{"messageId": f"bad-{i}"}], day=day)
            land.write_jsonl("mall_orders", "orders.jsonl", [order("paid", f"{day}T10:01:00+08:00")], day=day)
        land.write_jsonl("mall_orders", "again.jsonl", [order("paid", f"{DAY}T10:01:00+08:00")], day=days[2])
    reports = {s: ingest_deliveries(landing.layout, SOURCES[s], days) for s in ("app", "mall_orders")}
    singles = {s: [alone.ingest(s, day) for day in days] for s in ("app", "mall_orders")}

    def outcome(reports):
        return [(r.delivery_date, f.file, f.status, f.duplicate_of and f.duplicate_of.split("/")[-1], f.rows_read,
                 f.rows_in_lake, f.rows_quarantined, f.rows_deduplicated) for r in reports for f in r.files]
    assert outcome(reports["app"]) == outcome(singles["app"])
    assert outcome(reports["mall_orders"]) == outcome(singles["mall_orders"])
    # what the nights did, as values: 5 new events a night, event m0-0 sent again every night
    # (within night 0, then across nights) deduplicated, one bad row quarantined a night
    assert [(r.total("rows_in_lake"), r.total("rows_deduplicated"), r.total("rows_quarantined"))
            for r in reports["app"]] == [(5, 1, 1), (5, 1, 1), (5, 1, 1)]
    assert [f.status for f in reports["mall_orders"][2].files] == ["duplicate_file", "ingested"]
    for store in ("lake/app/events/*/part-0", "lake/mall_orders/orders/*/part-0", "quarantine/app/*/rows"):
        rows = [duckdb.sql(f"SELECT * EXCLUDE (_ingested_at) FROM read_parquet('{root}/{store}.parquet') "
                           f"ORDER BY ALL").fetchall() for root in (landing.layout.data_dir, alone.layout.data_dir)]
        assert rows[0] == rows[1] and rows[0], store


def test_a_run_of_nights_keeps_the_lookback_sliding_as_night_by_night_ingestion_does(landing, tmp_path):
    """A run keeps each entity's earlier keys from night to night (`dedupe.EarlierKeys`) instead of
    reading its lookback's partitions again: an event sent again within the app's 7-night
    lookback is a duplicate, one sent again 8 nights later lands again, exactly as when each
    night is ingested on its own; and the run's ingest log, folded in once, is the same log."""
    import duckdb

    from pipelines.lib.ingest.delivery import ingest_deliveries
    from pipelines.lib.ingest.ingest_log import read_log
    from pipelines.lib.ingest.sources import SOURCES
    from tests.lib.conftest import Landing

    days = [DAY + timedelta(days=i) for i in range(11)]
    alone = Landing(tmp_path / "alone")
    for land in (landing, alone):
        for i, day in enumerate(days):
            resent = [segment_event("early", ts=f"{DAY}T10:00:00+08:00")] if i in (0, 3, 8) else []
            land.write_jsonl("app", "e.jsonl", [segment_event(f"n{i}", ts=f"{day}T10:00:00+08:00")] + resent, day=day)
    reports = ingest_deliveries(landing.layout, SOURCES["app"], days[:6]) + \
        ingest_deliveries(landing.layout, SOURCES["app"], days[6:])
    singles = [alone.ingest("app", day) for day in days]
    assert [(r.total("rows_in_lake"), r.total("rows_deduplicated")) for r in reports] == \
        [(r.total("rows_in_lake"), r.total("rows_deduplicated")) for r in singles]
    # night 3 is within 7 nights of night 0: a duplicate; night 8 is 8 nights after it: lands again
    assert [r.total("rows_deduplicated") for r in reports] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert [r.total("rows_in_lake") for r in reports][8] == 2

    def log(land):
        return duckdb.connect().execute("SELECT * EXCLUDE (ingested_at) FROM read_parquet(?) ORDER BY ALL",
                                        [str(land.layout.ingest_log)]).fetchall()
    assert log(landing) == log(alone) and len(log(landing)) == 11
    assert read_log(landing.layout).num_rows == 11


def test_a_run_that_fails_on_a_night_keeps_the_nights_before_it_in_the_log(landing):
    """The log is folded in once per run, also when a night fails: the nights before it are in
    the lake, and the log says what they hold."""
    import pytest

    from pipelines.lib.ingest.delivery import ingest_deliveries
    from pipelines.lib.ingest.ingest_log import read_log
    from pipelines.lib.ingest.sources import SOURCES

    days = [DAY + timedelta(days=i) for i in range(3)]
    for day in days:
        landing.write_jsonl("app", "e.jsonl", [segment_event(f"m-{day}")], day=day)
    # a file where the second night's lake partition folder belongs: that night cannot be written
    blocker = landing.layout.lake_partition("app", "events", days[1])
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        ingest_deliveries(landing.layout, SOURCES["app"], days)
    logged = read_log(landing.layout).to_pylist()
    assert [(r["delivery_date"], r["status"], r["rows_in_lake"]) for r in logged] == [(days[0], "ingested", 1)]
    assert [r["message_id"] for r in landing.lake("app", "events", days[0])] == [f"m-{days[0]}"]
