"""`live`: live-stream room events (JSON Lines)."""
from pipelines.lib.ingest.spec import Entity, Field, Source

EVENTS = Entity(
    name="events",
    format="jsonl",
    patterns=("*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz"),
    fields=(
        Field("room_id", "$.room_id", required=True),
        Field("openid", "$.openid", required=True, identifies="openid"),
        Field("unionid", "$.unionid", identifies="unionid"),
        Field("action", "$.action", required=True,
              allowed=("enter", "leave", "like", "comment", "product_click", "share")),
        Field("product_id", "$.product_id"),
        Field("occurred_at", "$.ts", "ts_iso", required=True),
    ),
    natural_key=("room_id", "openid", "action", "product_id", "occurred_at"),
    event_time="occurred_at",
)

SOURCE = Source(name="live", entities=(EVENTS,), description="Live-stream room events.")
