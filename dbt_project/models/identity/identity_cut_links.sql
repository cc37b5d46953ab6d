-- The operator's cuts (seed `identity_blocked_edges`) as pairs of identifiers that exist.
select l.node_id as node_a, r.node_id as node_b, e.reason
from {{ ref('identity_blocked_edges') }} e
join {{ ref('identity_identifiers') }} l on l.id_type = e.left_type and l.id_value = e.left_value
join {{ ref('identity_identifiers') }} r on r.id_type = e.right_type and r.id_value = e.right_value
