-- What attribution credits: every paid order of a known customer, mall or till (an order as the
-- standard traits define it: any mall status but `cancelled`, a till sale; a till refund without
-- a sale in that order is not a conversion). Revenue is the order's net amount as of the night,
-- so a refund reverses the credit its order earned, on the order's own date.
-- `previous_converted_at` is the customer's previous conversion: a path starts after it.
select
    order_id as conversion_id,
    customer_id,
    ordered_at as converted_at,
    business_date,
    source,
    platform,
    net_amount as revenue,
    amount as paid_amount,
    refund_amount,
    click_id,
    store_id,
    guide_id,
    first_delivered_on,
    lag(ordered_at) over (partition by customer_id order by ordered_at, order_id) as previous_converted_at
from {{ ref('orders') }}
where customer_id <> 'anonymous'
    and status not in ('cancelled', 'refund_without_sale')
