-- The shopping funnel: visit -> product view -> add to cart -> order -> refund, per day the
-- visit started, its channel and audience.
-- A customer enters the funnel at their first event of the day on a shopping surface (app, web,
-- mini-program); each later step counts only if it happens after the previous step (strict
-- order) and within `funnel_window_days` of the entry; the refund step is a refund of the
-- order reached. Entries of the last `funnel_window_days` nights are still open
-- (`window_complete` false). Audiences are tonight's members (`all` is everyone), treatment and
-- holdout alike.
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
),

audiences as (
    select customer_id, 'all' as audience from (select distinct customer_id from steps)
    union all
    select customer_id, audience from {{ ref('audience_membership') }} where as_of_date = {{ as_of_date() }}
)

select
    s.entry_date,
    s.channel,
    a.audience,
    count(*) as visits,
    count(*) filter (where s.viewed) as product_viewed,
    count(*) filter (where s.added) as product_added,
    count(*) filter (where s.ordered) as ordered,
    count(*) filter (where s.refunded) as refunded,
    s.entry_date + {{ var('funnel_window_days') }} <= {{ as_of_date() }} as window_complete
from steps s
join audiences a using (customer_id)
group by all
