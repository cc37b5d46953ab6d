{{ nightly_history() }}
-- Customers whose lifecycle stage differs from the previous as_of_date in customer_traits
-- (from_stage is null for a customer new since then).
with nights as (
    select max(as_of_date) filter (where as_of_date < {{ as_of_date() }}) as previous
    from {{ ref('customer_traits') }}
),

tonight as (
    select customer_id, lifecycle_stage from {{ ref('customer_traits') }} where as_of_date = {{ as_of_date() }}
),

previous as (
    select customer_id, lifecycle_stage from {{ ref('customer_traits') }}
    where as_of_date = (select previous from nights)
)

select
    {{ as_of_date() }} as as_of_date,
    (select previous from nights) as previous_as_of_date,
    t.customer_id,
    p.lifecycle_stage as from_stage,
    t.lifecycle_stage as to_stage
from tonight t
left join previous p on p.customer_id = t.customer_id
where p.lifecycle_stage is distinct from t.lifecycle_stage
