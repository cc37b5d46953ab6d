-- Components that break a per-type limit (`max_per_customer`: two member ids joined by a
-- family's shared phone) are split around their values of the strongest broken type, and
-- components holding both ends of a cut link (`identity_blocked_edges`) around those two ends:
-- each seed starts a cluster and every other identifier joins the nearest seed, ties going to
-- the seed seen first (macros/graph.sql). Components within every rule are clusters as they are.
-- A night derives again, whole, the components now holding a node `identity_components` derived
-- again (macros/restated_nodes.sql); a seed's rank only orders the seeds of one component.
{{ restated_by_node('identity_components', seeds=['identity_blocked_edges', 'identity_id_types']) }}
-- depends_on: {{ ref('identity_blocked_edges') }}, {{ ref('identity_id_types') }}
{{ config(post_hook="{{ drop_work_tables() }}") }}
{%- set logged = logged_nodes() %}
{%- set ctes %}
with components as (
    select c.node_id, c.component_id
    from {{ ref('identity_components') }} c
    {%- if logged is not none %}
    where c.component_id in (
        select component_id from {{ ref('identity_components') }} where node_id in ({{ logged }}))
    {%- endif %}
),

counts as (
    select c.component_id, i.id_type, count(*) as n, any_value(t.max_per_customer) as max_per_customer,
        any_value(t.priority) as priority
    from components c
    join {{ ref('identity_identifiers') }} i using (node_id)
    join {{ ref('identity_id_types') }} t on t.id_type = i.id_type
    group by c.component_id, i.id_type
),

over_limit as (
    select component_id, {{ arg_min('id_type', 'priority') }} as split_type
    from counts
    where n > max_per_customer
    group by component_id
),

cut_within as (
    select ca.component_id, c.node_a, c.node_b
    from {{ ref('identity_cut_links') }} c
    join components ca on ca.node_id = c.node_a
    join components cb on cb.node_id = c.node_b and cb.component_id = ca.component_id
),

cut_ends as (
    select component_id, node_a as node_id from cut_within
    union all
    select component_id, node_b from cut_within
),

broken as (
    select component_id, coalesce(o.split_type, 'cut link') as split_type
    from (select component_id from over_limit union select component_id from cut_ends)
    left join over_limit o using (component_id)
),

seeds as (
    select s.node_id, s.component_id,
        row_number() over (order by i.first_seen_at nulls last, i.id_value) as seed_rank
    from (
        select c.node_id, c.component_id
        from components c
        join over_limit b using (component_id)
        join {{ ref('identity_identifiers') }} i on i.node_id = c.node_id and i.id_type = b.split_type
        union
        select node_id, component_id from cut_ends
    ) s
    join {{ ref('identity_identifiers') }} i using (node_id)
)
{%- endset %}

{%- set arcs %}
    select e.node_a as node_from, e.node_b as node_to, e.records
    from {{ ref('identity_edges') }} e
    join components c on c.node_id = e.node_a
    join broken b using (component_id)
    union all
    select e.node_b, e.node_a, e.records
    from {{ ref('identity_edges') }} e
    join components c on c.node_id = e.node_a
    join broken b using (component_id)
{%- endset %}

-- A node's label is (distance to the seed, minus the records behind the last link, seed rank),
-- smallest wins: the nearest seed, and between equally near seeds the one tied by more
-- evidence, then the one seen first.
{{ ctes }},

nearest as ({{ nearest_seed(ctes, 'select node_id, seed_rank from seeds', arcs) }})

select
    c.node_id,
    c.component_id,
    case when s.node_id is null then c.component_id else s.node_id end as cluster_id,
    b.split_type,
    n.label.distance as distance_to_seed
from components c
left join broken b using (component_id)
left join nearest n on n.node_id = c.node_id
left join seeds s on s.seed_rank = n.label.seed_rank
