-- Spend against attributed results per day, channel, campaign, model, lookback window and touch
-- mode (published contract §1). `date` is the conversion's business date for results and the
-- cost report's date for spend. Spend comes from the ad platforms' cost reports, its channel from
-- `channel_mapping` (the platform's rule), so it lines up with the channel of the platform's
-- touches. `roas` is attributed revenue over spend (null without spend); over several rows,
-- take sum(attributed_revenue) / sum(spend), never an average of the rows' ROAS.
with results as (
    select conversion_date as date, channel, campaign_id, model, lookback_days, touch_mode,
        sum(credit) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from {{ ref('attribution') }}
    group by all
),

platform_channels as (
    select platform, {{ arg_min('channel', 'priority') }} as channel
    from {{ ref('channel_mapping') }}
    where source = 'ads' and platform is not null
    group by platform
),

spend as (
    select s.cost_date as date, coalesce(p.channel, 'unknown') as channel, s.campaign_id,
        sum(s.cost) as spend, sum(s.impressions) as impressions, sum(s.clicks) as clicks
    from {{ ref('stg_ads__costs') }} s
    left join platform_channels p using (platform)
    group by all
),

variants as (
    select distinct model, lookback_days, touch_mode from {{ ref('attribution') }}
),

spend_per_variant as (
    select s.*, v.model, v.lookback_days, v.touch_mode
    from spend s
    cross join variants v
)

select
    date, channel, campaign_id, model, lookback_days, touch_mode,
    coalesce(s.spend, 0) as spend,
    coalesce(s.impressions, 0) as impressions,
    coalesce(s.clicks, 0) as clicks,
    coalesce(r.attributed_conversions, 0) as attributed_conversions,
    coalesce(r.attributed_revenue, 0) as attributed_revenue,
    case when s.spend > 0 then coalesce(r.attributed_revenue, 0) / s.spend end as roas
from results r
full outer join spend_per_variant s using (date, channel, campaign_id, model, lookback_days, touch_mode)
