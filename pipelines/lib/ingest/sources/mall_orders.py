"""`mall_orders`: the online mall's order export, one order a line, re-sent on each status change."""
from pipelines.lib.ingest.spec import Entity, Field, Source

ORDERS = Entity(
    name="orders",
    format="jsonl",
    patterns=("*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz"),
    fields=(
        Field("order_id", "$.order_id", required=True),
        Field("platform", "$.platform", allowed=("miniprogram", "app", "web")),
        Field("status", "$.status", required=True,
              allowed=("paid", "shipped", "completed", "refunded", "partially_refunded", "cancelled")),
        Field("unionid", "$.unionid", identifies="unionid"),
        Field("openid", "$.openid", identifies="openid"),
        Field("member_id", "$.member_id", "upper", identifies="member_id"),
        Field("phone", "$.phone", "phone", identifies="phone"),
        Field("created_at", "$.created_at", "ts_iso", required=True),
        Field("paid_at", "$.paid_at", "ts_iso"),
        Field("refunded_at", "$.refunded_at", "ts_iso"),
        Field("updated_at", "$.updated_at", "ts_iso", required=True),
        Field("items", "$.items", "json"),
        Field("amount", "$.amount", "decimal", required=True),
        Field("discount", "$.discount", "decimal"),
        Field("coupon_type", "$.coupon_type"),
        Field("refund_amount", "$.refund_amount", "decimal"),
        Field("source_scene", "$.source.scene"),
        Field("source_gdt_vid", "$.source.gdt_vid", identifies="click_id"),
        Field("source_room_id", "$.source.room_id"),
        Field("source_article_id", "$.source.article_id"),
        Field("source_guide_id", "$.source.guide_id"),
        Field("source_share_from_openid", "$.source.share_from_openid"),
    ),
    # Each status change re-sends the order: the latest `updated_at` wins.
    natural_key=("order_id",),
    version="updated_at",
    event_time="updated_at",
    dedupe_lookback_days=30,
)

SOURCE = Source(name="mall_orders", entities=(ORDERS,), description="Online mall orders (latest status wins).")
