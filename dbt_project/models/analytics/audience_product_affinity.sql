-- What each audience (tonight's members, treatment and holdout) is drawn to, against all
-- customers: for each product and each category, the share of members who viewed, added or
-- bought it in the last `affinity_days` days, the same share over all customers, and the index
-- (member share / overall share x 100; above 100 = over-indexed). `members_engaged` lets a
-- reader ignore indexes resting on a handful of people.
with engaged as (
    select distinct e.customer_id, e.product_id, p.category
    from {{ ref('events') }} e
    left join {{ ref('products') }} p using (product_id)
    where e.customer_id <> 'anonymous' and e.product_id is not null
        and e.event_type in ('product_viewed', 'product_added', 'product_clicked', 'order_placed', 'order_completed')
        and e.business_date > {{ as_of_date() }} - {{ var('affinity_days') }}
        and e.business_date <= {{ as_of_date() }}
),

items as (
    select customer_id, 'product' as level, product_id as item from engaged
    union
    select customer_id, 'category', category from engaged where category is not null
),

members as (
    select audience, customer_id from {{ ref('audience_membership') }} where as_of_date = {{ as_of_date() }}
),

sizes as (
    select audience, count(*) as members from members group by audience
),

population as (
    select count(*) as customers from {{ ref('customers') }}
),

overall as (
    select level, item, count(distinct customer_id) as customers_engaged from items group by all
),

per_audience as (
    select m.audience, i.level, i.item, count(distinct i.customer_id) as members_engaged
    from members m
    join items i using (customer_id)
    group by all
)

select
    a.audience,
    a.level,
    a.item,
    a.members_engaged,
    s.members,
    a.members_engaged / s.members as member_share,
    o.customers_engaged / p.customers as overall_share,
    round(100 * (a.members_engaged / s.members) / (o.customers_engaged / p.customers), 1) as affinity_index
from per_audience a
join sizes s using (audience)
join overall o using (level, item)
cross join population p
