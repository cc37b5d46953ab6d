-- Platforms restate earlier days: the latest delivery of a campaign's day wins.
select
    cost_date,
    platform,
    campaign_id,
    campaign_name,
    channel,
    impressions,
    clicks,
    cost,
    delivery_date
from {{ lake('ads_costs') }}
qualify row_number() over (partition by cost_date, platform, campaign_id order by delivery_date desc) = 1
