-- Components that break a per-type limit (`max_per_customer`: two member ids joined by a
-- family's shared phone) are split around their values of the strongest broken type, and
-- components holding both ends of a cut link (`identity_blocked_edges`) around those two ends:
-- each seed starts a cluster and every other identifier joins the nearest seed, ties going to
-- the seed seen first. Components within every rule are clusters as they are.
with recursive counts as (
    select c.component_id, i.id_type, count(*) as n, any_value(t.max_per_customer) as max_per_customer,
        any_value(t.priority) as priority
    from {{ ref('identity_components') }} c
    join {{ ref('identity_identifiers') }} i using (node_id)
    join {{ ref('identity_id_types') }} t on t.id_type = i.id_type
    group by c.component_id, i.id_type
),

over_limit as (
    select component_id, arg_min(id_type, priority) as split_type
    from counts
    where n > max_per_customer
    group by component_id
),

cut_ends as (
    select ca.component_id, unnest([c.node_a, c.node_b]) as node_id
    from {{ ref('identity_cut_links') }} c
    join {{ ref('identity_components') }} ca on ca.node_id = c.node_a
    join {{ ref('identity_components') }} cb on cb.node_id = c.node_b and cb.component_id = ca.component_id
),

broken as (
    select component_id, coalesce(o.split_type, 'cut link') as split_type
    from (select component_id from over_limit union select component_id from cut_ends)
    left join over_limit o using (component_id)
),

seeds as (
    select s.node_id, s.component_id,
        row_number() over (order by i.first_seen_at, i.id_value) as seed_rank
    from (
        select c.node_id, c.component_id
        from {{ ref('identity_components') }} c
        join over_limit b using (component_id)
        join {{ ref('identity_identifiers') }} i on i.node_id = c.node_id and i.id_type = b.split_type
        union
        select node_id, component_id from cut_ends
    ) s
    join {{ ref('identity_identifiers') }} i using (node_id)
),

arcs as (
    select e.node_a as node_from, e.node_b as node_to, e.records
    from {{ ref('identity_edges') }} e
    join {{ ref('identity_components') }} c on c.node_id = e.node_a
    join broken b using (component_id)
    union all
    select e.node_b, e.node_a, e.records
    from {{ ref('identity_edges') }} e
    join {{ ref('identity_components') }} c on c.node_id = e.node_a
    join broken b using (component_id)
),

-- Multi-source breadth-first search. A node's label is (distance to the seed, minus the records
-- behind the last link, seed rank), smallest wins: the nearest seed, and between equally near
-- seeds the one tied by more evidence, then the one seen first.
nearest (node_id, label) using key (node_id) as (
    select node_id, {'distance': 0, 'weight': 0, 'seed_rank': seed_rank} from seeds
    union
    (
        select a.node_to,
            min({'distance': n.label.distance + 1, 'weight': -a.records, 'seed_rank': n.label.seed_rank})
        from nearest n
        join arcs a on a.node_from = n.node_id
        left join recurring.nearest r on r.node_id = a.node_to
        group by a.node_to
        having any_value(r.node_id) is null
            or min({'distance': n.label.distance + 1, 'weight': -a.records, 'seed_rank': n.label.seed_rank})
               < any_value(r.label)
    )
)

select
    c.node_id,
    c.component_id,
    case when s.node_id is null then c.component_id else s.node_id end as cluster_id,
    b.split_type,
    n.label.distance as distance_to_seed
from {{ ref('identity_components') }} c
left join broken b using (component_id)
left join nearest n on n.node_id = c.node_id
left join seeds s on s.seed_rank = n.label.seed_rank
