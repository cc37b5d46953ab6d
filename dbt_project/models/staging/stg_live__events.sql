{{ incremental_by_delivery() }}
-- Live rooms run inside the mall's mini-program: their openids belong to its appid.
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    {{ hash_key(['room_id', 'openid', 'action', 'product_id', 'occurred_at']) }} as record_id,
    'live' as source,
    action as source_event,
    '{{ var("mall_appid") }}:' || openid as openid,
    unionid,
    room_id,
    product_id,
    occurred_at,
    delivery_date
from {{ lake('live_events') }}
{% endcall %}
