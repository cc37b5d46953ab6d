"""`guide`: shopping guides' interactions with customers on WeCom (CSV)."""
from pipelines.lib.ingest.spec import Entity, Field, Source

EVENTS = Entity(
    name="events",
    format="csv",
    patterns=("*.csv", "*.csv.gz"),
    fields=(
        Field("guide_id", "guide_id", required=True),
        Field("store_id", "store_id"),
        Field("external_userid", "external_userid", required=True, identifies="external_userid"),
        Field("unionid", "unionid", identifies="unionid"),
        Field("action", "action", required=True,
              allowed=("add_friend", "chat", "share_product", "send_coupon", "invite_to_store")),
        Field("product_id", "product_id"),
        Field("coupon_id", "coupon_id"),
        # The contract names no form for `ts`: accept ISO with offset, epoch ms or Beijing time.
        Field("occurred_at", "ts", "ts_any", required=True),
    ),
    natural_key=("guide_id", "external_userid", "action", "product_id", "coupon_id", "occurred_at"),
    event_time="occurred_at",
)

SOURCE = Source(name="guide", entities=(EVENTS,), description="Shopping-guide interactions via WeCom.")
