"""`miniprogram`: the WeChat mini-program behaviour log (JSON Lines, epoch-millisecond times)."""
from pipelines.lib.ingest.spec import Entity, Field, Flag, Source

KNOWN_EVENTS = ("launch", "page_view", "product_view", "add_cart", "share", "coupon_claim")

EVENTS = Entity(
    name="events",
    format="jsonl",
    patterns=("*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz"),
    fields=(
        Field("appid", "$.appid", required=True),
        Field("openid", "$.openid", required=True, identifies="openid"),
        Field("unionid", "$.unionid", identifies="unionid"),  # empty until the user authorised
        Field("event", "$.event", required=True),
        Field("page_path", "$.page_path"),
        Field("scene", "$.scene"),
        Field("share_from_openid", "$.share_from_openid"),
        Field("gdt_vid", "$.gdt_vid", identifies="click_id"),
        Field("room_id", "$.room_id"),
        Field("article_id", "$.article_id"),
        Field("product_id", "$.product_id"),
        Field("occurred_at", "$.ts", "ts_epoch_ms", required=True),
    ),
    # The log has no event id: the same user, event, page and millisecond is one event.
    natural_key=("appid", "openid", "event", "page_path", "product_id", "occurred_at"),
    event_time="occurred_at",
    flags=(Flag("is_known_event", f"event IN {KNOWN_EVENTS!r}"),),
)

SOURCE = Source(name="miniprogram", entities=(EVENTS,), description="WeChat mini-program behaviour log.")
