{{ restated_by_customer_day('events', day_column='entry_date', days_after=var('funnel_window_days'),
                            vars=['funnel_window_days']) }}
-- Each shopping visit's way down the funnel as far as events tell: one row per customer and day
-- they entered it (their first event of the day on a shopping surface: app, web, mini-program),
-- the entry's channel, whether a product view followed within `funnel_window_days` of the entry,
-- and when the first add to cart after that view came. Orders and refunds, which change after
-- the fact, are matched by `funnel_daily` every night.
-- Restated per customer-day from `events`' log (macros/customer_days.sql): an entry depends on
-- the customer's events from its day to `funnel_window_days` days later, so a changed
-- customer-day restates the entries of the window before it. It does not read the night: a
-- night with no new data keeps it.
{%- set window = "interval '" ~ var('funnel_window_days') ~ " days'" %}

with entries as (
    select customer_id, business_date as entry_date,
        min(occurred_at) as entered_at,
        {{ arg_min('channel', ['occurred_at', 'event_id']) }} as channel
    from {{ ref('events') }}
    where customer_id <> 'anonymous' and source in ('app', 'web', 'miniprogram')
      and {{ restated_customer_days(day_column='business_date') }}
    group by customer_id, business_date
),

-- the restated entries' customers' view and add events
steps as (
    select customer_id, event_type, occurred_at
    from {{ ref('events') }}
    where event_type in ('product_viewed', 'product_added')
      and customer_id in (select customer_id from entries)
),

viewed as (
    select n.customer_id, n.entry_date, min(e.occurred_at) as at
    from entries n
    join steps e
        on e.customer_id = n.customer_id and e.event_type = 'product_viewed'
        and e.occurred_at > n.entered_at and e.occurred_at <= n.entered_at + {{ window }}
    group by all
),

added as (
    select v.customer_id, v.entry_date, min(e.occurred_at) as at
    from viewed v
    join entries n using (customer_id, entry_date)
    join steps e
        on e.customer_id = v.customer_id and e.event_type = 'product_added'
        and e.occurred_at > v.at and e.occurred_at <= n.entered_at + {{ window }}
    group by all
)

select
    n.customer_id, n.entry_date, n.channel, n.entered_at,
    v.at is not null as viewed,
    a.at as added_at
from entries n
left join viewed v using (customer_id, entry_date)
left join added a using (customer_id, entry_date)
