-- The shopping funnel: visit -> product view -> add to cart -> order -> refund, per day the
-- visit started, its channel and audience. The event steps come from `funnel_steps` (where
-- entries and their order are defined); the order is the customer's first order (not cancelled)
-- after the add to cart and within `funnel_window_days` of the entry, refunded when its refund
-- came within that window too, as orders stand tonight. Entries of the last
-- `funnel_window_days` nights are still open (`window_complete` false). Audiences are tonight's
-- members (`all` is everyone), treatment and holdout alike.
{%- set window = "interval '" ~ var('funnel_window_days') ~ " days'" %}

with steps as (
    select * from {{ ref('funnel_steps') }}
),

ordered as (
    select s.customer_id, s.entry_date, {{ arg_min('o.order_id', ['o.ordered_at', 'o.order_id']) }} as order_id
    from steps s
    join {{ ref('orders') }} o
        on o.customer_id = s.customer_id and o.status not in ('cancelled', 'refund_without_sale')
        and o.ordered_at > s.added_at and o.ordered_at <= s.entered_at + {{ window }}
    group by all
),

funnel as (
    select
        s.customer_id, s.entry_date, s.channel, s.viewed,
        s.added_at is not null as added,
        o.order_id is not null as ordered,
        coalesce(r.refunded_at <= s.entered_at + {{ window }}, false) as refunded
    from steps s
    left join ordered o using (customer_id, entry_date)
    left join {{ ref('orders') }} r on r.order_id = o.order_id and r.refund_amount > 0
),

audiences as (
    select customer_id, 'all' as audience from (select distinct customer_id from steps)
    union all
    select customer_id, audience from {{ ref('audience_membership') }} where as_of_date = {{ as_of_date() }}
)

select
    f.entry_date,
    f.channel,
    a.audience,
    count(*) as visits,
    count(*) filter (where f.viewed) as product_viewed,
    count(*) filter (where f.added) as product_added,
    count(*) filter (where f.ordered) as ordered,
    count(*) filter (where f.refunded) as refunded,
    f.entry_date + {{ var('funnel_window_days') }} <= {{ as_of_date() }} as window_complete
from funnel f
join audiences a using (customer_id)
group by all
