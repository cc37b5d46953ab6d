{{ incremental_by_delivery() }}
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
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
{% endcall %}
