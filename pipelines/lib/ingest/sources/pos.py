"""`pos`: store tills' order lines (CSV; legacy tills export GB18030)."""
from pipelines.lib.ingest.spec import Entity, Field, Source

ORDER_LINES = Entity(
    name="order_lines",
    format="csv",
    patterns=("*.csv", "*.csv.gz"),
    fields=(
        Field("order_id", "order_id", required=True),
        Field("store_id", "store_id", required=True),
        Field("guide_id", "guide_id"),
        Field("member_card", "member_card", "upper", identifies="member_id"),
        Field("phone", "phone", "phone", identifies="phone"),  # masked numbers (138****5678) become null, silently
        Field("ordered_at", "order_time", "ts_local", required=True),
        Field("sku", "sku"),
        Field("product_id", "product_id"),
        Field("category", "category"),
        Field("quantity", "quantity", "int", required=True),
        Field("unit_price", "unit_price", "decimal"),
        Field("line_amount", "line_amount", "decimal", required=True),
        Field("discount", "discount", "decimal"),
        Field("coupon_type", "coupon_type"),
        Field("payment_method", "payment_method"),
        Field("refund_of", "refund_of"),  # refunds: negative quantity, the original order here
    ),
    # Tills have no line id: a re-sent line repeats every value of the line, and so does a
    # second scan of the same item, which `line_copy` tells apart.
    natural_key=("order_id", "sku", "product_id", "quantity", "line_amount", "refund_of", "line_copy"),
    copy_number="line_copy",
    event_time="ordered_at",
    optional_columns=("refund_of",),
)

SOURCE = Source(name="pos", entities=(ORDER_LINES,), description="Store till order lines.",
                encodings=("utf-8-sig", "gb18030"))
