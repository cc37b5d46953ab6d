-- The shopping funnel: visit -> product view -> add to cart -> order -> refund, per day the
-- visit started, its channel and audience, counted from `funnel_steps` (where the steps and
-- their order are defined). Entries of the last `funnel_window_days` nights are still open
-- (`window_complete` false). Audiences are tonight's members (`all` is everyone), treatment and
-- holdout alike.

with steps as (
    select * from {{ ref('funnel_steps') }}
),

audiences as (
    select customer_id, 'all' as audience from (select distinct customer_id from steps)
    union all
    select customer_id, audience from {{ ref('audience_membership') }} where as_of_date = {{ as_of_date() }}
)

select
    s.entry_date,
    s.channel,
    a.audience,
    count(*) as visits,
    count(*) filter (where s.viewed) as product_viewed,
    count(*) filter (where s.added) as product_added,
    count(*) filter (where s.ordered) as ordered,
    count(*) filter (where s.refunded) as refunded,
    s.entry_date + {{ var('funnel_window_days') }} <= {{ as_of_date() }} as window_complete
from steps s
join audiences a using (customer_id)
group by all
