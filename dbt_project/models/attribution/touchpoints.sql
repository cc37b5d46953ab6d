{{ config(materialized='view', tags=['incremental']) }}
-- One row per marketing touch of a known customer (published contract §1); how touches are
-- found and why they are kept per customer: `customer_touchpoints`.
select
    touch_id, customer_id, touched_at, business_date, channel, touchpoint, campaign_id, creative_id,
    article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, events
from {{ ref('customer_touchpoints') }}
where touch_id is not null
