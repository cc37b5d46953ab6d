{{ nightly_history(keep='traits_history_days') }}
-- The key each customer's treatment/holdout group is drawn from (audience models hash it with
-- the audience's name and var `holdout_salt`). A new customer starts with its own id. A customer
-- made of earlier ones (merged, split, or renamed: identity_changes) keeps the key of the one
-- known longest, so the surviving id keeps the older id's group and a split keeps both halves
-- in the group they were in. Kept per night like customer_traits, so an old night replays.
{% if is_incremental() %}
with before as (
    select customer_id, holdout_key, since from {{ this }}
    where as_of_date = {{ previous_night(this) }}
),

candidates as (
    select customer_id, holdout_key, since from before
    union all
    select c.customer_id, b.holdout_key, b.since
    from {{ ref('identity_changes') }} c
    join before b on b.customer_id = c.previous_customer_id
    where c.as_of_date = {{ as_of_date() }} and c.change in ('merged', 'split', 'renamed')
),

inherited as (
    select customer_id, {{ arg_min('holdout_key', ['since', 'holdout_key']) }} as holdout_key, min(since) as since
    from candidates
    group by customer_id
)

select
    c.customer_id,
    coalesce(i.holdout_key, c.customer_id) as holdout_key,
    coalesce(i.since, {{ as_of_date() }}) as since,
    {{ as_of_date() }} as as_of_date
from {{ ref('customers') }} c
left join inherited i on i.customer_id = c.customer_id
{% else %}
-- depends_on: {{ ref('identity_changes') }}
select customer_id, customer_id as holdout_key, {{ as_of_date() }} as since, {{ as_of_date() }} as as_of_date
from {{ ref('customers') }}
{% endif %}
