-- Platforms restate earlier days: the latest delivery of a campaign's day wins.
{% call first_per('cost_date, platform, campaign_id', 'delivery_date desc') %}
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
{% endcall %}
