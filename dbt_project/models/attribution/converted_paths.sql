-- The converting half of `conversion_paths`: every conversion's path per lookback window and
-- touch mode (the channels of the touches the window keeps, joined by ` > `; `unattributed`
-- when it keeps none), with how many conversions ended on it and their revenue. It does not read
-- the night: a night with no new data keeps it, and `conversion_paths` adds the open journeys.
-- A conversion's touches are gathered once, as the ordered list of the widest window's touches
-- (the longest lookback in view mode holds every other window's touches); each window and mode
-- then keeps a filtered part of that list (macro `journey_paths`).
{%- set longest = var('attribution_lookback_days') | max %}

with converting as (
    select c.revenue, t.touches, 1 as conversions, 0 as non_conversions
    from {{ ref('conversions') }} c
    left join (
        select conversion_id,
            {{ ordered_list_agg(struct_of({'channel': 'channel', 'age_days': 'cast(days_before as integer)',
                                           'is_click': 'is_click'}), ['touched_at', 'touch_id']) }} as touches
        from {{ ref('conversion_touches') }}
        where lookback_days = {{ longest }} and touch_mode = 'view'
        group by conversion_id
    ) t using (conversion_id)
)

{{ journey_paths('converting') }}
