-- Identity health: no link between two identifiers rests on a hub or blocked identifier (a
-- shop's tablet, a placeholder phone). The graph's rules guarantee it; this test keeps them honest.
select e.node_a, e.node_b, i.id_type, i.status
from {{ ref('identity_edges') }} e
join {{ ref('identity_identifiers') }} i on i.node_id in (e.node_a, e.node_b)
where i.status <> 'linked'
