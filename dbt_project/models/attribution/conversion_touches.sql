-- The touches that can claim each conversion, for every lookback window and touch mode: the
-- input of every attribution model. Window semantics (README "Attribution"):
-- - a touch counts for an order only if it happened strictly before the order, after the
--   customer's previous order (a path restarts after each order: a touch helps one order at
--   most), and within the lookback: its business date is at most `lookback_days` before the
--   order's (0 = the order's own business day);
-- - `touch_mode` `click` takes clicks only; `view` takes the same clicks plus impressions and
--   watches (`is_click` false), which count only within `attribution_view_window_days` (and the
--   lookback).
{%- set longest = var('attribution_lookback_days') | max %}

with candidates as (
    select
        c.conversion_id, c.customer_id, c.converted_at, c.business_date as conversion_date, c.revenue,
        t.touch_id, t.touched_at, t.channel, t.campaign_id, t.touch_mode = 'click' as is_click, t.is_direct,
        {{ days_between('t.business_date', 'c.business_date') }} as days_before
    from {{ ref('conversions') }} c
    join {{ ref('touchpoints') }} t
        on t.customer_id = c.customer_id
        and t.touched_at < c.converted_at
        and (c.previous_converted_at is null or t.touched_at > c.previous_converted_at)
        and t.business_date >= c.business_date - {{ longest }}
),

eligible as (
    select c.*, l.lookback_days, m.touch_mode
    from candidates c
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} m
    where c.days_before <= l.lookback_days
        and (c.is_click
             or (m.touch_mode = 'view' and c.days_before <= {{ var('attribution_view_window_days') }}))
)

select
    *,
    row_number() over path as position,
    count(*) over (partition by conversion_id, lookback_days, touch_mode) as path_length
from eligible
window path as (partition by conversion_id, lookback_days, touch_mode order by touched_at, touch_id)
