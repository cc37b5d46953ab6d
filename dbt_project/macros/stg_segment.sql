{#- app and web deliver the same Segment-spec stream: one staging shape for both. -#}
{% macro stg_segment(source_name) %}
{% call first_per('record_id', 'delivery_date', repeats='rare') %}
select
    message_id as record_id,
    '{{ source_name }}' as source,
    type,
    case when type = 'track' then event else type end as source_event,
    is_known_event,
    anonymous_id as device_id,
    user_id as member_id,
    trait_phone as phone,
    trait_email as email,
    -- an ad click id reaches the app/web as the referrer id of a click
    case when referrer_type = 'click_id' then referrer_id end as click_id,
    occurred_at,
    page_url,
    page_referrer,
    lower(regexp_extract(page_referrer, '^[a-z]+://([^/:?#]+)', 1)) as referrer_domain,
    utm_source,
    utm_medium,
    utm_campaign as campaign_id,
    product_id,
    sku,
    category,
    price,
    quantity,
    order_id,
    revenue,
    coupon,
    discount,
    search_query,
    experiment_id,
    variant,
    trait_name as name,
    trait_gender as gender,
    trait_birthday as birth_date,
    trait_city as city,
    delivery_date
from {{ lake(source_name ~ '_events') }}
{% endcall %}
{% endmacro %}
