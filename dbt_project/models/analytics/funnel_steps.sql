-- Each shopping visit's way down the funnel: one row per customer and day they entered it
-- (their first event of the day on a shopping surface: app, web, mini-program), the entry's
-- channel, and which later steps followed in strict order within `funnel_window_days` of the
-- entry (product view, add to cart, order, refund of that order). It does not read the night:
-- a night with no new data keeps it, and `funnel_daily` counts it per audience.
{%- set window = "interval '" ~ var('funnel_window_days') ~ " days'" %}

with entries as (
    select customer_id, business_date as entry_date,
        min(occurred_at) as entered_at,
        {{ arg_min('channel', ['occurred_at', 'event_id']) }} as channel
    from {{ ref('events') }}
    where customer_id <> 'anonymous' and source in ('app', 'web', 'miniprogram')
    group by customer_id, business_date
),

viewed as (
    select n.customer_id, n.entry_date, min(e.occurred_at) as at
    from entries n
    join {{ ref('events') }} e
        on e.customer_id = n.customer_id and e.event_type = 'product_viewed'
        and e.occurred_at > n.entered_at and e.occurred_at <= n.entered_at + {{ window }}
    group by all
),

added as (
    select v.customer_id, v.entry_date, min(e.occurred_at) as at
    from viewed v
    join entries n using (customer_id, entry_date)
    join {{ ref('events') }} e
        on e.customer_id = v.customer_id and e.event_type = 'product_added'
        and e.occurred_at > v.at and e.occurred_at <= n.entered_at + {{ window }}
    group by all
),

ordered as (
    select a.customer_id, a.entry_date, {{ arg_min('o.order_id', ['o.ordered_at', 'o.order_id']) }} as order_id
    from added a
    join entries n using (customer_id, entry_date)
    join {{ ref('orders') }} o
        on o.customer_id = a.customer_id and o.status not in ('cancelled', 'refund_without_sale')
        and o.ordered_at > a.at and o.ordered_at <= n.entered_at + {{ window }}
    group by all
),

steps as (
    select
        n.customer_id, n.entry_date, n.channel,
        v.at is not null as viewed,
        a.at is not null as added,
        o.order_id is not null as ordered,
        coalesce(r.refunded_at <= n.entered_at + {{ window }}, false) as refunded
    from entries n
    left join viewed v using (customer_id, entry_date)
    left join added a using (customer_id, entry_date)
    left join ordered o using (customer_id, entry_date)
    left join {{ ref('orders') }} r on r.order_id = o.order_id and r.refund_amount > 0
)

select * from steps
