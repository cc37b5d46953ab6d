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
