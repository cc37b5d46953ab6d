-- Each official-account article's reach and the GMV it influenced: orders placed within
-- `article_gmv_days` after the buyer read the article or clicked through from it (an order
-- counts once per article, and can count for several articles). `gmv` is the orders' net
-- amount as of tonight; `direct_orders` are mall orders whose entry carried the article.
{%- set days = "interval '" ~ var('article_gmv_days') ~ " days'" %}

with interactions as (
    select customer_id, article_id, occurred_at, event_type
    from {{ ref('events') }}
    where article_id is not null and customer_id <> 'anonymous'
        and event_type in ('article_read', 'article_clicked_through')
),

reach as (
    select article_id,
        count(distinct customer_id) filter (where event_type = 'article_read') as readers,
        count(distinct customer_id) filter (where event_type = 'article_clicked_through') as clickers,
        min(occurred_at) as first_read_at
    from interactions
    group by article_id
),

influenced as (
    select distinct i.article_id, o.order_id, o.net_amount
    from interactions i
    join {{ ref('orders') }} o
        on o.customer_id = i.customer_id and o.status not in ('cancelled', 'refund_without_sale')
        and o.ordered_at > i.occurred_at and o.ordered_at <= i.occurred_at + {{ days }}
),

direct as (
    select article_id, count(*) as direct_orders, sum(net_amount) as direct_gmv
    from {{ ref('orders') }}
    where article_id is not null and status not in ('cancelled', 'refund_without_sale')
    group by article_id
)

select
    r.article_id,
    r.first_read_at,
    r.readers,
    r.clickers,
    count(i.order_id) as orders,
    coalesce(sum(i.net_amount), 0) as gmv,
    coalesce(any_value(d.direct_orders), 0) as direct_orders,
    coalesce(any_value(d.direct_gmv), 0) as direct_gmv
from reach r
left join influenced i using (article_id)
left join direct d using (article_id)
group by r.article_id, r.first_read_at, r.readers, r.clickers
