-- Paths per lookback window and touch mode, in the shape `cdp attribute --paths` reads: the
-- channels of a path joined by ` > `, how many conversions and non-conversions ended on it, and
-- their revenue. A conversion with no touch in its window has the path `unattributed`.
-- A non-conversion is a customer's journey still open at the end of the night: the touches
-- after their last order (or all, if they never ordered) that the same window would count for an
-- order placed at the end of `as_of_date`.
-- Every journey is gathered once, as the ordered list of the widest window's touches (the longest
-- lookback in view mode holds every other window's touches); each window and mode then keeps a
-- filtered part of that list, instead of sorting and joining the touches once per window.
{%- set longest = var('attribution_lookback_days') | max %}
{%- set view_days = var('attribution_view_window_days') %}

with converting as (
    select c.revenue, t.touches
    from {{ ref('conversions') }} c
    left join (
        select conversion_id,
            {{ ordered_list_agg(struct_of({'channel': 'channel', 'age_days': 'cast(days_before as integer)',
                                           'is_click': 'is_click'}), ['touched_at', 'touch_id']) }} as touches
        from {{ ref('conversion_touches') }}
        where lookback_days = {{ longest }} and touch_mode = 'view'
        group by conversion_id
    ) t using (conversion_id)
),

last_conversions as (
    select customer_id, max(converted_at) as converted_at
    from {{ ref('conversions') }}
    group by customer_id
),

open_journeys as (
    select
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

journeys as (
    select touches, 1 as conversions, 0 as non_conversions, revenue from converting
    union all
    select touches, 0, 1, 0 from open_journeys
),

windowed as (
    select
        l.lookback_days, m.touch_mode, j.conversions, j.non_conversions, j.revenue,
        {{ list_filter('j.touches', 't', "t.age_days <= l.lookback_days
                       and (t.is_click or (m.touch_mode = 'view' and t.age_days <= " ~ view_days ~ "))") }} as kept
    from journeys j
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} m
)

select
    lookback_days,
    touch_mode,
    case when kept is null or cardinality(kept) = 0 then 'unattributed'
         else {{ join_list(list_transform('kept', 't', 't.channel'), "' > '") }} end as path,
    sum(conversions)::bigint as conversions,
    sum(non_conversions)::bigint as non_conversions,
    sum(revenue) as revenue
from windowed
where conversions = 1 or cardinality(kept) > 0
group by all
