{{ restated_by_node('identity_clusters', vars=['identity_salt']) }}
-- Every identifier with the customer it resolves to (clear values: internal to the warehouse,
-- never published; `identity_map` is the published form).
--
-- customer_id is derived from the cluster's anchor, never from a row number, so it does not
-- change across nights or rebuilds while the anchor stays in the cluster. The anchor is the
-- identifier seen first (non-PII before PII, so an id never hashes a phone when anything else
-- exists; ties by type priority, then value). When two customers merge, the older anchor wins:
-- the surviving id is the one that existed first.
-- A night derives again, whole, the clusters now holding a node `identity_clusters` derived again
-- (macros/restated_nodes.sql): only they can have another anchor or other identifiers.
{%- set logged = logged_nodes() %}
with clustered as (
    select i.*, c.cluster_id, c.component_id, c.split_type
    from {{ ref('identity_identifiers') }} i
    join {{ ref('identity_clusters') }} c using (node_id)
    {%- if logged is not none %}
    where c.cluster_id in (select cluster_id from {{ ref('identity_clusters') }} where node_id in ({{ logged }}))
    {%- endif %}
),

-- the anchor's fields are its own sort key: the smallest struct, not arg_min over a second one
anchors as (
    select cluster_id, anchor.id_type || ':' || anchor.id_value as anchor
    from (
        select
            cluster_id,
            {{ min_struct([['is_pii', 'is_pii'], ['first_seen_at', 'first_seen_at'], ['priority', 'priority'],
                           ['id_type', 'id_type'], ['id_value', 'id_value']]) }} as anchor
        from clustered
        group by cluster_id
    )
)

select
    'c' || left({{ sha256("'" ~ var('identity_salt') ~ "' || a.anchor") }}, 16) as customer_id,
    c.node_id,
    c.id_type,
    c.id_value,
    c.is_pii,
    c.priority,
    c.first_seen_at,
    c.last_seen_at,
    c.source_count,
    c.sources,
    c.cluster_id,
    c.component_id,
    c.split_type,
    c.id_type || ':' || c.id_value = a.anchor as is_anchor,
    -- the identifier as the nightly identity history keeps it (no clear values): hashed once
    -- per identity build, not by each reader every night
    {{ sha256("c.id_type || ':' || c.id_value") }} as id_key
from clustered c
join anchors a using (cluster_id)
