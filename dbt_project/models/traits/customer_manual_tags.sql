-- Manual tags on the customers they name (member id, or phone matched by its sha256), valid on
-- as_of_date: added on or before it and not removed by then.
with valid as (
    select * from {{ ref('stg_marketing__manual_tags') }}
    where added_on <= {{ as_of_date() }} and (removed_on is null or removed_on > {{ as_of_date() }})
),

matched as (
    select m.customer_id, v.tag
    from valid v
    join {{ ref('identity_map') }} m on m.id_type = 'member_id' and m.id_value = v.member_id
    union
    select m.customer_id, v.tag
    from valid v
    join {{ ref('identity_map') }} m on m.id_type = 'phone' and m.id_value = v.phone_sha256
)

select customer_id, {{ sorted_set_agg('tag') }} as tags
from matched
group by customer_id
