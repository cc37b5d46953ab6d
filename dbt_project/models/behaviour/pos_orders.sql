-- Till lines folded into orders: sale lines make the order, refund lines (`refund_of`) reduce
-- it. The order's customer is the one its sale lines resolve to (a member card or a phone).
-- `product_ids` lists the sold products, the largest line first (its first is the product the
-- order's event carries); every pick here has a tie-break, so a rebuild gives the same row.
with lines as (
    select l.*, rc.customer_id
    from {{ ref('stg_pos__order_lines') }} l
    left join {{ ref('record_customers') }} rc using (source, record_id)
),

folded as (
    select
        sale_order_id as order_id,
        coalesce(min(customer_id) filter (where not is_refund),
                 min(customer_id), 'anonymous') as customer_id,
        min(ordered_at) filter (where not is_refund) as ordered_at,
        min(ordered_at) filter (where is_refund) as refunded_at,
        coalesce(min(store_id) filter (where not is_refund), min(store_id)) as store_id,
        min(guide_id) as guide_id,
        min(coupon_type) filter (where not is_refund) as coupon_type,
        coalesce(sum(line_amount) filter (where not is_refund), 0) as amount,
        coalesce(sum(discount) filter (where not is_refund), 0) as discount,
        coalesce(-sum(line_amount) filter (where is_refund), 0) as refund_amount,
        coalesce(sum(quantity) filter (where not is_refund), 0) as item_quantity,
        count(*) filter (where not is_refund) as sale_lines,
        count(*) filter (where is_refund) as refund_lines,
        coalesce({{ ordered_list_agg('product_id', ['line_amount desc', 'product_id'],
                                     where='not is_refund and product_id is not null') }},
                 {{ list_of([], 'string') }}) as product_ids,
        coalesce(min(delivery_date) filter (where not is_refund), min(delivery_date)) as first_delivered_on
    from lines
    group by sale_order_id
)

select order_id, customer_id, ordered_at, refunded_at, store_id, guide_id, coupon_type, amount, discount,
    refund_amount, item_quantity, sale_lines, refund_lines,
    {{ distinct_in_order('product_ids') }} as product_ids, first_delivered_on
from folded
