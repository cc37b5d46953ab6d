-- Who was in which group of which experiment, and from when.
-- - Product experiments: `Experiment Viewed` events (experiment_id, variant); a customer is
--   exposed at their first view. A customer who saw two variants of one experiment is kept out
--   of its results (`is_contaminated`).
-- - Audience holdouts: experiment `audience:<name>`, groups `treatment` and `holdout`; a
--   customer is exposed at the end of the first night they were a member (holdout membership is
--   fixed per customer, so the group does not change later).
with viewed as (
    select experiment_id, customer_id,
        min(occurred_at) as exposed_at,
        {{ arg_min('variant', ['occurred_at', 'event_id']) }} as variant,
        count(distinct variant) > 1 as is_contaminated
    from {{ ref('events') }}
    where event_type = 'experiment_viewed' and customer_id <> 'anonymous'
        and experiment_id is not null and variant is not null
    group by experiment_id, customer_id
),

audience_entries as (
    select audience, customer_id,
        min(as_of_date) as first_night,
        {{ arg_min('is_holdout', 'as_of_date') }} as is_holdout
    from {{ ref('audience_membership') }}
    group by audience, customer_id
)

select experiment_id, variant, customer_id, exposed_at, is_contaminated
from viewed
union all
select
    'audience:' || audience,
    case when is_holdout then 'holdout' else 'treatment' end,
    customer_id,
    -- the end of the business day of the first night, as UTC like every other timestamp here
    {{ local_to_utc('cast(first_night + 1 as timestamp)', "'" ~ var('business_tz') ~ "'") }},
    false
from audience_entries
