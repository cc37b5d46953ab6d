{{ incremental_by_delivery() }}
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    {{ hash_key(['appid', 'openid', 'event', 'page_path', 'product_id', 'occurred_at']) }} as record_id,
    'miniprogram' as source,
    event as source_event,
    is_known_event,
    appid || ':' || openid as openid,
    unionid,
    gdt_vid as click_id,
    page_path,
    scene,
    appid || ':' || share_from_openid as share_from_openid,
    room_id,
    article_id,
    product_id,
    occurred_at,
    delivery_date
from {{ lake('miniprogram_events') }}
{% endcall %}
