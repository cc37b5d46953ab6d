-- The mall re-sends an order on every status change: the latest `updated_at` wins.
-- Its openids are the mall mini-program's.
{% call first_per('order_id', 'updated_at desc, delivery_date desc') %}
select
    order_id as record_id,
    'mall_orders' as source,
    order_id,
    platform,
    status,
    unionid,
    '{{ var("mall_appid") }}:' || openid as openid,
    member_id,
    phone,
    source_gdt_vid as click_id,
    created_at,
    paid_at,
    refunded_at,
    updated_at,
    items,
    amount,
    coalesce(discount, 0) as discount,
    coupon_type,
    coalesce(refund_amount, 0) as refund_amount,
    source_scene as scene,
    source_room_id as room_id,
    source_article_id as article_id,
    source_guide_id as guide_id,
    '{{ var("mall_appid") }}:' || source_share_from_openid as share_from_openid,
    delivery_date,
    -- the night the order first arrived (later deliveries restate its status)
    min(delivery_date) over (partition by order_id) as first_delivered_on
from {{ lake('mall_orders_orders') }}
{% endcall %}
