{{ nightly_history() }}
-- Who entered and who left each audience since the previous as_of_date in audience_membership
-- (published contract). A customer whose id changed (identity_changes) exits under the old id
-- and enters under the new one.
with nights as (      -- the previous build (customer_traits has every built night, empty audiences or not)
    select max(as_of_date) filter (where as_of_date < {{ as_of_date() }}) as previous
    from {{ ref('customer_traits') }}
),

tonight as (
    select audience, customer_id from {{ ref('audience_membership') }}
    where as_of_date = {{ as_of_date() }}
),

previous as (
    select audience, customer_id from {{ ref('audience_membership') }}
    where as_of_date = (select previous from nights)
)

select audience, {{ as_of_date() }} as as_of_date, customer_id, 'entered' as change
from (select * from tonight except select * from previous)
union all
select audience, {{ as_of_date() }} as as_of_date, customer_id, 'exited' as change
from (select * from previous except select * from tonight)
