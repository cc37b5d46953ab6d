{{ incremental_by_delivery() }}
-- One row per till line. Refund lines carry the original order in `refund_of`.
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    {{ hash_key(['order_id', 'sku', 'product_id', 'quantity', 'line_amount', 'refund_of', 'line_copy']) }} as record_id,
    'pos' as source,
    order_id,
    coalesce(refund_of, order_id) as sale_order_id,
    refund_of is not null as is_refund,
    store_id,
    guide_id,
    member_card as member_id,
    phone,
    ordered_at,
    sku,
    product_id,
    category,
    quantity,
    unit_price,
    line_amount,
    coalesce(discount, 0) as discount,
    coupon_type,
    payment_method,
    delivery_date
from {{ lake('pos_order_lines') }}
{% endcall %}
