-- Paths per lookback window and touch mode, in the shape `cdp attribute --paths` reads: the
-- channels of a path joined by ` > `, how many conversions and non-conversions ended on it, and
-- their revenue. A conversion with no touch in its window has the path `unattributed`.
-- A non-conversion is a customer's journey still open at the end of the night: the touches
-- after their last order (or all, if they never ordered) that the same window would count for an
-- order placed at the end of `as_of_date`.

with converted as (
    select c.conversion_id, l.lookback_days, m.touch_mode, c.revenue,
        coalesce(p.path, 'unattributed') as path
    from {{ ref('conversions') }} c
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} m
    left join (
        select conversion_id, lookback_days, touch_mode,
            string_agg(channel, ' > ' order by position) as path
        from {{ ref('conversion_touches') }}
        group by all
    ) p using (conversion_id, lookback_days, touch_mode)
),

last_conversions as (
    select customer_id, max(converted_at) as converted_at
    from {{ ref('conversions') }}
    group by customer_id
),

open_touches as (
    select t.customer_id, t.touched_at, t.touch_id, t.channel, l.lookback_days, m.touch_mode
    from {{ ref('touchpoints') }} t
    left join last_conversions c using (customer_id)
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} m
    where (c.converted_at is null or t.touched_at > c.converted_at)
        and t.business_date >= {{ as_of_date() }} - l.lookback_days
        and (t.touch_mode = 'click'
             or (m.touch_mode = 'view'
                 and t.business_date >= {{ as_of_date() }} - {{ var('attribution_view_window_days') }}))
),

open_paths as (
    select customer_id, lookback_days, touch_mode,
        string_agg(channel, ' > ' order by touched_at, touch_id) as path
    from open_touches
    group by all
)

select
    lookback_days,
    touch_mode,
    path,
    sum(conversions)::bigint as conversions,
    sum(non_conversions)::bigint as non_conversions,
    sum(revenue) as revenue
from (
    select lookback_days, touch_mode, path, 1 as conversions, 0 as non_conversions, revenue from converted
    union all
    select lookback_days, touch_mode, path, 0, 1, 0 from open_paths
)
group by all
