{{ restated_by_node('identity_edges') }}
{{ config(post_hook="{{ drop_work_tables() }}") }}
-- Connected components of the identity graph (macros/graph.sql): every linked identifier's
-- component is the smallest node id it is connected to; an identifier without links is its own.
-- A night derives again, whole, the components its restated nodes (macros/restated_nodes.sql)
-- were in and those their links reach now (a new link may join a component nothing else
-- touched); every other component keeps its nodes, links and smallest id.
{%- set logged = logged_nodes() %}
with
{%- if logged is none %}
nodes as (
    select node_id from {{ ref('identity_identifiers') }} where status = 'linked'
),
{%- else %}
restated as (
    select distinct node_id from ({{ logged }})
),

reached as (
    select node_id from restated
    union
    select e.node_b from {{ ref('identity_edges') }} e semi join restated r on r.node_id = e.node_a
    union
    select e.node_a from {{ ref('identity_edges') }} e semi join restated r on r.node_id = e.node_b
),

-- every node of those components as they were, and the restated nodes (new ones among them);
-- a link from here leads only here: an unchanged link joined two nodes of one component
nodes as (
    select i.node_id
    from {{ ref('identity_identifiers') }} i
    semi join (
        select node_id from {{ this }}
        where component_id in (select c.component_id from {{ this }} c semi join reached using (node_id))
        union
        select node_id from restated
    ) using (node_id)
    where i.status = 'linked'
),
{%- endif %}

{%- set arcs %}
    select node_a as node_from, node_b as node_to from {{ ref('identity_edges') }}
    {%- if logged is not none %} where node_a in (select node_id from nodes){% endif %}
    union all
    select node_b, node_a from {{ ref('identity_edges') }}
    {%- if logged is not none %} where node_a in (select node_id from nodes){% endif %}
{%- endset %}

labels as ({{ connected_components(arcs) }})

select n.node_id, coalesce(l.component_id, n.node_id) as component_id
from nodes n
left join labels l using (node_id)
