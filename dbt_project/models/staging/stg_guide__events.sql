select
    {{ hash_key(['guide_id', 'external_userid', 'action', 'product_id', 'coupon_id', 'occurred_at']) }} as record_id,
    'guide' as source,
    action as source_event,
    external_userid,
    unionid,
    guide_id,
    store_id,
    product_id,
    coupon_id,
    occurred_at,
    delivery_date
from {{ lake('guide_events') }}
-- A record re-delivered after the lake's dedupe lookback is still one record.
qualify row_number() over (partition by record_id order by delivery_date) = 1
