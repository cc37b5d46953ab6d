-- Each shopping guide's day on WeCom and at the till: friends added, chats, product shares,
-- coupons sent, coupons redeemed (a guide voucher used by the recipient within
-- `guide_coupon_days` of the send, counted on the send's day), and orders and GMV the guide
-- served (orders carrying the guide: till sales and guide-shared mall orders).
{%- set days = "interval '" ~ var('guide_coupon_days') ~ " days'" %}

with activity as (
    select guide_id, business_date,
        count(*) filter (where event_type = 'guide_friend_added') as friends_added,
        count(*) filter (where event_type = 'guide_chatted') as chats,
        count(*) filter (where event_type = 'guide_product_shared') as product_shares,
        count(*) filter (where event_type = 'coupon_sent') as coupons_sent
    from {{ ref('events') }}
    where source = 'guide' and guide_id is not null
    group by all
),

redeemed as (
    select s.guide_id, s.business_date, count(distinct s.event_id) as coupons_redeemed
    from {{ ref('events') }} s
    where s.event_type = 'coupon_sent' and s.customer_id <> 'anonymous'
        and exists (
            select 1 from {{ ref('orders') }} o
            where o.customer_id = s.customer_id and o.coupon_type = 'guide_voucher'
                and o.status not in ('cancelled', 'refund_without_sale')
                and o.ordered_at > s.occurred_at and o.ordered_at <= s.occurred_at + {{ days }})
    group by all
),

served as (
    select guide_id, business_date, count(*) as orders, sum(net_amount) as gmv
    from {{ ref('orders') }}
    where guide_id is not null and status not in ('cancelled', 'refund_without_sale')
    group by all
)

select
    guide_id,
    business_date,
    coalesce(a.friends_added, 0) as friends_added,
    coalesce(a.chats, 0) as chats,
    coalesce(a.product_shares, 0) as product_shares,
    coalesce(a.coupons_sent, 0) as coupons_sent,
    coalesce(r.coupons_redeemed, 0) as coupons_redeemed,
    coalesce(s.orders, 0) as orders,
    coalesce(s.gmv, 0) as gmv
from activity a
full outer join served s using (guide_id, business_date)
left join redeemed r using (guide_id, business_date)
