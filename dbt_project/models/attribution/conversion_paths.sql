-- Paths per lookback window and touch mode, in the shape `cdp attribute --paths` reads: the
-- channels of a path joined by ` > `, how many conversions and non-conversions ended on it, and
-- their revenue. A conversion with no touch in its window has the path `unattributed`.
-- The conversions' paths are `converted_paths` (kept on a quiet night); a non-conversion is a
-- customer's journey still open at the end of the night: the touches after their last order (or
-- all, if they never ordered) that the same window would count for an order placed at the end of
-- `as_of_date`.
{%- set longest = var('attribution_lookback_days') | max %}
{%- set view_days = var('attribution_view_window_days') %}

with last_conversions as (
    select customer_id, max(converted_at) as converted_at
    from {{ ref('conversions') }}
    group by customer_id
),

open_journeys as (
    select
        0 as conversions, 1 as non_conversions, 0 as revenue,
        {{ ordered_list_agg(struct_of({'channel': 't.channel',
                                       'age_days': 'cast(' ~ days_between('t.business_date', as_of_date()) ~ ' as integer)',
                                       'is_click': "t.touch_mode = 'click'"}), ['t.touched_at', 't.touch_id']) }} as touches
    from {{ ref('touchpoints') }} t
    left join last_conversions c using (customer_id)
    where (c.converted_at is null or t.touched_at > c.converted_at)
        and t.business_date >= {{ as_of_date() }} - {{ longest }}
        and (t.touch_mode = 'click' or t.business_date >= {{ as_of_date() }} - {{ view_days }})
    group by t.customer_id
),

open_paths as (
    {{ journey_paths('open_journeys') | indent(4) }}
)

select lookback_days, touch_mode, path,
    sum(conversions)::bigint as conversions,
    sum(non_conversions)::bigint as non_conversions,
    sum(revenue) as revenue
from (
    select * from {{ ref('converted_paths') }}
    union all
    select * from open_paths
)
group by all
