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
-- A record re-delivered after the lake's dedupe lookback is still one record.
qualify row_number() over (partition by record_id order by delivery_date) = 1
