{{ incremental_by_delivery() }}
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    coalesce(click_id, impression_id) as record_id,
    'ads' as source,
    event as source_event,
    platform,
    click_id,
    impression_id,
    campaign_id,
    adgroup_id,
    creative_id,
    device_id,
    occurred_at,
    delivery_date
from {{ lake('ads_clicks') }}
{% endcall %}
