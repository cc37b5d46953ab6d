-- Every behaviour of every source in one shape, before customers and channels are attached.
-- (source, record_id) names the record whose identifiers say who did it; delivery_date is the
-- delivery it was read from (a till order's first, a CRM member's first snapshot).
{%- set app_web %}
    select source || ':' || record_id as event_id, source, record_id, cast(null as string) as customer_id,
        source_event, occurred_at, campaign_id, product_id, coalesce(revenue, price) as amount,
        order_id, coupon as coupon_type,
        case when discount > 0 and coalesce(revenue, price) > 0
             then round(discount / (coalesce(revenue, price) + discount), 4) end as discount_rate,
        null as scene, null as room_id, null as article_id, null as guide_id, null as store_id,
        click_id, page_url, search_query, null as platform, utm_source, utm_medium, referrer_domain,
        null as creative_id, category, experiment_id, variant, delivery_date
{%- endset %}
{{ app_web }} from {{ ref('stg_app__events') }}
union all
{{ app_web }} from {{ ref('stg_web__events') }}
union all
select 'miniprogram:' || record_id, source, record_id, null, source_event, occurred_at, null, product_id,
    null, null, null, null, scene, room_id, article_id, null, null, click_id, page_path, null, null,
    null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_miniprogram__events') }}
union all
select 'official_account:' || record_id, source, record_id, null, source_event, occurred_at, null, null,
    null, null, null, null, null, null, article_id, null, null, null, null, null, null, null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_official_account__events') }}
union all
select 'live:' || record_id, source, record_id, null, source_event, occurred_at, null, product_id,
    null, null, null, null, null, room_id, null, null, null, null, null, null, null, null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_live__events') }}
union all
select 'guide:' || record_id, source, record_id, null, source_event, occurred_at, null, product_id,
    null, null, coupon_id, null, null, null, null, guide_id, store_id, null, null, null, null, null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_guide__events') }}
union all
select 'mall_orders:' || order_id, source, record_id, null, 'order', created_at, null, null,
    amount, order_id, coupon_type,
    case when discount > 0 then round(discount / (amount + discount), 4) end,
    scene, room_id, article_id, guide_id, null, click_id, null, null, platform, null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_mall_orders__orders') }}
union all
select 'mall_orders:refund:' || order_id, source, record_id, null, 'refund', refunded_at, null, null,
    refund_amount, order_id, null, null, null, null, null, null, null, null, null, null, platform,
    null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_mall_orders__orders') }}
where refunded_at is not null and refund_amount > 0
union all
select 'pos:' || order_id, 'pos', order_id, customer_id, 'order', ordered_at, null,
    {{ list_first('product_ids') }}, amount, order_id, coupon_type,
    case when discount > 0 then round(discount / (amount + discount), 4) end,
    null, null, null, guide_id, store_id, null, null, null, null, null, null, null, null, null, null, null, first_delivered_on
from {{ ref('pos_orders') }}
where sale_lines > 0
union all
select 'pos:refund:' || order_id, 'pos', order_id, customer_id, 'refund', refunded_at, null, null,
    refund_amount, order_id, null, null, null, null, null, guide_id, store_id, null, null, null, null,
    null, null, null, null, null, null, null, first_delivered_on
from {{ ref('pos_orders') }}
where refund_lines > 0
union all
select 'ads:' || record_id, source, record_id, null, source_event, occurred_at, campaign_id, null,
    null, null, null, null, null, null, null, null, null, click_id, null, null, platform, null, null, null, creative_id, null, null, null, delivery_date
from {{ ref('stg_ads__clicks') }}
union all
select 'service:' || record_id, source, record_id, null, 'ticket', created_at, null, null,
    null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, delivery_date
from {{ ref('stg_service__tickets') }}
union all
select 'crm:' || record_id, source, record_id, null, 'registered', registered_at, null, null,
    null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    first_delivered_on
from {{ ref('stg_crm__members') }}
where registered_at is not null
