-- One row per order, online and offline, with its latest status and money as of the run date.
-- Net amount = paid amount - refunds; a cancelled mall order was never paid: its net is 0.
-- An order whose buyer cannot be resolved is kept under the `anonymous` customer.
select
    m.order_id,
    coalesce(rc.customer_id, 'anonymous') as customer_id,
    'mall_orders' as source,
    m.platform,
    m.created_at as ordered_at,
    {{ business_date('m.created_at') }} as business_date,
    m.paid_at,
    m.refunded_at,
    m.status,
    m.amount,
    m.discount,
    m.coupon_type,
    m.refund_amount,
    case when m.status = 'cancelled' then 0 else m.amount - m.refund_amount end as net_amount,
    cast(null as string) as store_id,
    m.guide_id,
    m.scene,
    m.room_id,
    m.article_id,
    m.click_id,
    m.first_delivered_on
from {{ ref('stg_mall_orders__orders') }} m
left join {{ ref('record_customers') }} rc on rc.source = m.source and rc.record_id = m.record_id
union all
select
    p.order_id,
    p.customer_id,
    'pos' as source,
    'store' as platform,
    p.ordered_at,
    {{ business_date('p.ordered_at') }} as business_date,
    p.ordered_at as paid_at,
    p.refunded_at,
    case
        when p.sale_lines = 0 then 'refund_without_sale'
        when p.refund_amount >= p.amount then 'refunded'
        when p.refund_amount > 0 then 'partially_refunded'
        else 'completed'
    end as status,
    p.amount,
    p.discount,
    p.coupon_type,
    p.refund_amount,
    p.amount - p.refund_amount as net_amount,
    p.store_id,
    p.guide_id,
    null as scene,
    null as room_id,
    null as article_id,
    null as click_id,
    p.first_delivered_on
from {{ ref('pos_orders') }} p
