-- Connected components of the identity graph, by label propagation to convergence: every node
-- starts with the smallest node id among itself and its neighbours; each round, only the nodes
-- whose label just dropped push it to their neighbours; the recursion ends when no label drops.
-- (`using key` keeps one row per node, so memory stays at one row per identifier.)
with recursive
arcs as (
    select node_a as node_from, node_b as node_to from {{ ref('identity_edges') }}
    union all
    select node_b, node_a from {{ ref('identity_edges') }}
),

labels (node_id, component_id) using key (node_id) as (
    select node_from, least(node_from, min(node_to)) from arcs group by node_from
    union
    (
        select a.node_to, min(l.component_id)
        from labels l
        join arcs a on a.node_from = l.node_id
        join recurring.labels r on r.node_id = a.node_to
        group by a.node_to
        having min(l.component_id) < min(r.component_id)
    )
)

select i.node_id, coalesce(l.component_id, i.node_id) as component_id
from {{ ref('identity_identifiers') }} i
left join labels l using (node_id)
where i.status = 'linked'
