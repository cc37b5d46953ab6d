-- The Markov credits of `attribution` (published contract §1): each conversion split over the
-- channels of its path in proportion to their removal effects (`markov_removal_effects`), a
-- channel's share split evenly over its touches; evenly over the touches when no channel of the
-- path has an effect. The removal effects come from every journey open as of the night, so these
-- credits move every night, new data or not; everything a path alone decides, `unattributed`
-- rows included, is `attribution_by_path`.
with touches as (
    select
        t.conversion_id, t.customer_id, t.converted_at, t.conversion_date, t.revenue, t.lookback_days,
        t.touch_mode, t.channel, t.campaign_id, t.touch_id, t.touched_at, t.path_length,
        coalesce(e.removal_effect, 0) as removal_effect
    from {{ ref('conversion_touches') }} t
    left join {{ ref('markov_removal_effects') }} e using (lookback_days, touch_mode, channel)
),

-- one row per path and channel: how many of the path's touches the channel has
path_channels as (
    select conversion_id, lookback_days, touch_mode, channel,
        count(*) as channel_touches, any_value(removal_effect) as removal_effect
    from touches
    group by all
),

-- one row per path: the removal effects of its distinct channels, summed
paths as (
    select conversion_id, lookback_days, touch_mode, sum(removal_effect) as effect_total
    from path_channels
    group by all
),

credits as (
    select
        t.*,
        case when p.effect_total > 0 then t.removal_effect / p.effect_total / c.channel_touches
             else 1 / t.path_length end::double as credit
    from touches t
    join paths p using (conversion_id, lookback_days, touch_mode)
    join path_channels c using (conversion_id, lookback_days, touch_mode, channel)
)

select
    conversion_id, customer_id, converted_at, conversion_date, revenue, 'markov' as model, lookback_days,
    touch_mode, channel, campaign_id, touch_id, touched_at, credit, credit * revenue as attributed_revenue
from credits
where credit > 0
