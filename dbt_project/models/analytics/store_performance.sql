-- Each store's day: till orders and GMV (net as of tonight), buyers, orders with a coupon,
-- guide vouchers redeemed, and new members: people who registered through the `store` channel
-- that day (the CRM does not say which store), credited to the store of their first till
-- purchase.
with store_orders as (
    select store_id, business_date, order_id, customer_id, net_amount, coupon_type, guide_id
    from {{ ref('orders') }}
    where source = 'pos' and status <> 'refund_without_sale'
),

first_store as (
    select customer_id, {{ arg_min('store_id', ['business_date', 'order_id']) }} as store_id
    from store_orders
    where customer_id <> 'anonymous'
    group by customer_id
),

joined as (
    select f.store_id, {{ business_date('c.registered_at') }} as business_date, count(*) as new_members
    from {{ ref('customers') }} c
    join first_store f using (customer_id)
    where c.register_channel = 'store' and {{ business_date('c.registered_at') }} <= {{ as_of_date() }}
    group by all
),

sales as (
    select
        store_id,
        business_date,
        count(*) as orders,
        sum(net_amount) as gmv,
        count(distinct customer_id) filter (where customer_id <> 'anonymous') as buyers,
        count(*) filter (where coupon_type is not null) as coupon_orders,
        count(*) filter (where coupon_type = 'guide_voucher') as guide_vouchers_redeemed,
        count(*) filter (where guide_id is not null) as guided_orders
    from store_orders
    group by all
)

select
    store_id,
    business_date,
    coalesce(s.orders, 0) as orders,
    coalesce(s.gmv, 0) as gmv,
    coalesce(s.buyers, 0) as buyers,
    coalesce(s.coupon_orders, 0) as coupon_orders,
    coalesce(s.guide_vouchers_redeemed, 0) as guide_vouchers_redeemed,
    coalesce(s.guided_orders, 0) as guided_orders,
    coalesce(j.new_members, 0) as new_members
from sales s
full outer join joined j using (store_id, business_date)
