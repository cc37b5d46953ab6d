-- Conversions to send back to each ad platform (published contract §4): every paid order that
-- followed a click of that platform within `ad_conversion_window_days`, credited to the
-- platform's last click before the order (each platform gets the orders its own clicks led to;
-- an order after clicks on two platforms goes to both, as each platform counts its own).
-- A click is an ad platform's logged click whose id reached a touch of the buyer (the ad log, or
-- the landing page that carried the id). The night's file holds the conversions first delivered
-- that night, so a replayed night sends the same rows and a late order is sent when it arrives.
-- Contact columns are sha256 of the normal form (phone E.164, email lower-case), as the
-- identity map keeps them: the customer's most recently seen phone and email.
{%- set window = "interval '" ~ var('ad_conversion_window_days') ~ " days'" %}

with clicks as (
    select t.customer_id, t.touched_at, t.click_id, a.platform, a.campaign_id
    from {{ ref('touchpoints') }} t
    join {{ ref('stg_ads__clicks') }} a on a.click_id = t.click_id and a.source_event = 'click'
),

followed as (
    select
        c.conversion_id, k.platform,
        {{ arg_max('k.click_id', ['k.touched_at', 'k.click_id']) }} as click_id,
        {{ arg_max('k.campaign_id', ['k.touched_at', 'k.click_id']) }} as campaign_id,
        max(k.touched_at) as clicked_at
    from {{ ref('conversions') }} c
    join clicks k
        on k.customer_id = c.customer_id
        and k.touched_at < c.converted_at and k.touched_at >= c.converted_at - {{ window }}
    group by c.conversion_id, k.platform
),

contacts as (
    select customer_id,
        {{ arg_max('id_value', ['last_seen_at', 'id_value']) }} filter (where id_type = 'phone') as hashed_phone,
        {{ arg_max('id_value', ['last_seen_at', 'id_value']) }} filter (where id_type = 'email') as hashed_email
    from {{ ref('identity_map') }}
    where id_type in ('phone', 'email')
    group by customer_id
)

select
    f.platform,
    f.click_id,
    'purchase' as conversion_type,
    c.converted_at as conversion_time,
    c.paid_amount as value,
    'CNY' as currency,
    c.conversion_id as order_id,
    f.campaign_id,
    f.clicked_at,
    ct.hashed_phone,
    ct.hashed_email,
    c.customer_id,
    c.business_date as conversion_date,
    c.first_delivered_on
from followed f
join {{ ref('conversions') }} c using (conversion_id)
left join contacts ct using (customer_id)
