-- The customer of every record that carries at least one linked identifier: the customer of its
-- strongest identifier (after a limit split, a record's identifiers can point at two customers;
-- the member id decides). Records absent here belong to the anonymous customer.
select
    o.source,
    o.record_id,
    {{ arg_min('r.customer_id', ['r.priority', 'r.id_value']) }} as customer_id
from {{ ref('identity_occurrences') }} o
join {{ ref('identity_resolution') }} r on r.id_type = o.id_type and r.id_value = o.id_value
group by o.source, o.record_id
