"""What specs can refer to: the behaviour tables' columns and their types.

Kept in step with the dbt models by a test that compares it with the built warehouse.
"""
from __future__ import annotations

from dataclasses import dataclass

INTEGER, NUMBER, TEXT, DATE, TIMESTAMP, BOOLEAN, TEXT_LIST = (
    "integer", "number", "text", "date", "timestamp", "boolean", "text_list")
ORDERED = {INTEGER, NUMBER, DATE, TIMESTAMP}


@dataclass(frozen=True)
class Table:
    """A dbt model specs may aggregate (`time` and `key` order its rows: ties break on `key`).
    `daily_parts`: the table logs the customer-days it restates, and its trait groups are built
    from per customer-day parts (trait_parts.py)."""
    name: str
    columns: dict[str, str]
    time: str | None = None
    key: str | None = None
    daily_parts: bool = False


def _cols(spec: str) -> dict[str, str]:
    return {name: kind for name, kind in (pair.split(":") for pair in spec.split())}


EVENTS = Table("events", _cols("""
    event_id:text customer_id:text occurred_at:timestamp business_date:date source:text
    event_type:text channel:text touchpoint:text campaign_id:text product_id:text amount:number
    order_id:text coupon_type:text discount_rate:number scene:text room_id:text article_id:text
    guide_id:text store_id:text click_id:text page_url:text search_query:text platform:text
    utm_source:text utm_medium:text referrer_domain:text source_event:text"""),
    time="occurred_at", key="event_id", daily_parts=True)

ORDERS = Table("orders", _cols("""
    order_id:text customer_id:text source:text platform:text ordered_at:timestamp
    business_date:date paid_at:timestamp refunded_at:timestamp status:text amount:number
    discount:number coupon_type:text refund_amount:number net_amount:number store_id:text
    guide_id:text scene:text room_id:text article_id:text click_id:text"""),
    time="ordered_at", key="order_id")

CUSTOMERS = Table("customers", _cols("""
    customer_id:text first_seen_at:timestamp last_seen_at:timestamp member_id:text gender:text
    birth_date:date city:text province:text tier:text register_channel:text
    registered_at:timestamp consent_sms:boolean consent_email:boolean consent_wechat:boolean
    is_member:boolean identifier_count:integer"""))

TABLES = {t.name: t for t in (EVENTS, ORDERS, CUSTOMERS)}
BEHAVIOUR = ("events", "orders")          # tables with one row per happening (time, key)
