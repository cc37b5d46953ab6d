{{ config(post_hook="{{ drop_work_tables() }}") }}
-- Connected components of the identity graph (macros/graph.sql): every linked identifier's
-- component is the smallest node id it is connected to; an identifier without links is its own.
{%- set arcs %}
    select node_a as node_from, node_b as node_to from {{ ref('identity_edges') }}
    union all
    select node_b, node_a from {{ ref('identity_edges') }}
{%- endset %}

select i.node_id, coalesce(l.component_id, i.node_id) as component_id
from {{ ref('identity_identifiers') }} i
left join ({{ connected_components(arcs) }}) l using (node_id)
where i.status = 'linked'
