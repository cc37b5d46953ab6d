"""The Segment-spec event stream shared by `app` and `web` (same format, two folders)."""
from pipelines.lib.ingest.spec import Entity, Field, Flag, Rule

KNOWN_EVENTS = (
    "Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed",
    "Order Refunded", "Coupon Applied", "Products Searched", "Signed Up", "Logged In",
    "Push Opened", "Experiment Viewed",
)

FIELDS = (
    Field("message_id", "$.messageId", required=True),
    Field("type", "$.type", required=True, allowed=("track", "identify", "page", "screen")),
    Field("event", "$.event"),
    Field("anonymous_id", "$.anonymousId", "lower", identifies="device_id"),
    Field("user_id", "$.userId", "upper", identifies="member_id"),
    Field("occurred_at", "$.timestamp", "ts_iso", required=True),
    Field("ip", "$.context.ip"),
    Field("locale", "$.context.locale"),
    Field("user_agent", "$.context.userAgent"),
    Field("os_name", "$.context.os.name"),
    Field("page_url", "$.context.page.url"),
    Field("page_referrer", "$.context.page.referrer"),
    Field("utm_source", "$.context.campaign.source"),
    Field("utm_medium", "$.context.campaign.medium"),
    Field("utm_campaign", "$.context.campaign.name"),
    Field("utm_term", "$.context.campaign.term"),
    Field("utm_content", "$.context.campaign.content"),
    Field("referrer_type", "$.context.referrer.type"),
    Field("referrer_id", "$.context.referrer.id", identifies="click_id"),
    Field("product_id", "$.properties.product_id"),
    Field("sku", "$.properties.sku"),
    Field("category", "$.properties.category"),
    Field("price", "$.properties.price", "decimal"),
    Field("quantity", "$.properties.quantity", "int"),
    Field("order_id", "$.properties.order_id"),
    Field("revenue", "$.properties.revenue", "decimal"),
    Field("coupon", "$.properties.coupon"),
    Field("discount", "$.properties.discount", "decimal"),
    Field("currency", "$.properties.currency"),
    Field("search_query", "$.properties.search_query"),
    Field("experiment_id", "$.properties.experiment_id"),
    Field("variant", "$.properties.variant"),
    Field("properties", "$.properties", "json"),
    Field("trait_phone", "$.traits.phone", "phone", identifies="phone"),
    Field("trait_email", "$.traits.email", "email", identifies="email"),
    Field("trait_name", "$.traits.name"),
    Field("trait_gender", "$.traits.gender"),
    Field("trait_birthday", "$.traits.birthday", "date"),
    Field("trait_city", "$.traits.city"),
)

EVENTS = Entity(
    name="events",
    format="jsonl",
    patterns=("*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz"),
    fields=FIELDS,
    natural_key=("message_id",),
    event_time="occurred_at",
    rules=(
        Rule("anonymous_id IS NULL AND user_id IS NULL", "'identity: neither anonymousId nor userId'"),
        Rule("type = 'track' AND event IS NULL", "'event: a track call needs an event name'"),
    ),
    # Unknown event names are kept and flagged, never dropped: product teams add events first.
    flags=(Flag("is_known_event", f"type <> 'track' OR event IN {KNOWN_EVENTS!r}"),),
)
