-- Members of uploaded lists, as customers: matched by member id or by the phone's sha256.
-- A row of a list that matches nobody is counted in the `lake/marketing` asset, not kept here.
select distinct l.list, m.customer_id
from {{ ref('stg_marketing__list_members') }} l
join {{ ref('identity_map') }} m
    on (m.id_type = 'member_id' and m.id_value = l.member_id)
    or (m.id_type = 'phone' and m.id_value = l.phone_sha256)
