-- Each live-stream room: viewers, product clicks, and the GMV it seeded, split by the delay
-- between watching and buying: orders on the business day of a watch (`same_day`) and orders
-- within `live_gmv_days` after a watch (`within_days`, which includes same-day ones). An order
-- counts once per room. `direct_*` are mall orders placed from the room itself.
{%- set days = "interval '" ~ var('live_gmv_days') ~ " days'" %}

with watches as (
    select customer_id, room_id, occurred_at, business_date
    from {{ ref('events') }}
    where room_id is not null and customer_id <> 'anonymous' and event_type = 'live_entered'
),

rooms as (
    select room_id,
        count(distinct customer_id) filter (where event_type = 'live_entered') as viewers,
        count(*) filter (where event_type = 'product_clicked') as product_clicks,
        min(occurred_at) filter (where event_type = 'live_entered') as first_watch_at
    from {{ ref('events') }}
    where room_id is not null and source = 'live'
    group by room_id
),

seeded as (
    select w.room_id, o.order_id, o.net_amount,
        bool_or(o.business_date = w.business_date) as same_day
    from watches w
    join {{ ref('orders') }} o
        on o.customer_id = w.customer_id and o.status not in ('cancelled', 'refund_without_sale')
        and o.ordered_at > w.occurred_at and o.ordered_at <= w.occurred_at + {{ days }}
    group by all
),

direct as (
    select room_id, count(*) as direct_orders, sum(net_amount) as direct_gmv
    from {{ ref('orders') }}
    where room_id is not null and status not in ('cancelled', 'refund_without_sale')
    group by room_id
)

select
    r.room_id,
    r.first_watch_at,
    r.viewers,
    r.product_clicks,
    count(s.order_id) filter (where s.same_day) as same_day_orders,
    coalesce(sum(s.net_amount) filter (where s.same_day), 0) as same_day_gmv,
    count(s.order_id) as within_days_orders,
    coalesce(sum(s.net_amount), 0) as within_days_gmv,
    coalesce(any_value(d.direct_orders), 0) as direct_orders,
    coalesce(any_value(d.direct_gmv), 0) as direct_gmv
from rooms r
left join seeded s using (room_id)
left join direct d using (room_id)
group by r.room_id, r.first_watch_at, r.viewers, r.product_clicks
