{{ restated_by_node('identity_identifiers', seeds=['identity_blocked_edges'], node_columns=['node_a', 'node_b']) }}
-- depends_on: {{ ref('identity_blocked_edges') }}
-- Links between linked identifiers that appear on one record, one row per pair, with the first
-- record that made the link (the evidence `identity_changes` cites). For a pair in
-- `identity_blocked_edges` (an operator's unmerge), a record carrying both is no evidence at all:
-- it links none of its identifiers (`identity_clusters` keeps the pair apart even if other
-- records still connect them).
-- A night derives again every link of the nodes `identity_identifiers` derived again
-- (macros/restated_nodes.sql), from every record carrying one of them: a link between two other
-- nodes has the same records and ends as before.
{%- set logged = logged_nodes() %}
with
{%- if logged is none %}
occurrences as (
    select source, record_id, seen_at, node_id, false as restated from {{ ref('identity_occurrences') }}
),
{%- else %}
restated as (
    select distinct node_id from ({{ logged }})
),

occurrences as (
    select o.source, o.record_id, o.seen_at, o.node_id, r.node_id is not null as restated
    from {{ ref('identity_occurrences') }} o
    semi join (
        select distinct source, record_id from {{ ref('identity_occurrences') }} semi join restated using (node_id)
    ) using (source, record_id)
    left join restated r using (node_id)
),
{%- endif %}

all_sightings as (
    select o.source, o.record_id, o.seen_at, o.node_id, o.restated
    from occurrences o
    semi join (select node_id from {{ ref('identity_identifiers') }} where status = 'linked') i using (node_id)
),

discredited as (
    select distinct a.source, a.record_id
    from all_sightings a
    join {{ ref('identity_cut_links') }} c on c.node_a = a.node_id
    join all_sightings b on b.source = a.source and b.record_id = a.record_id and b.node_id = c.node_b
),

sightings as (
    select * from all_sightings anti join discredited using (source, record_id)
),

pairs as (
    select a.node_id as node_a, b.node_id as node_b, a.seen_at, a.source, a.record_id
    from sightings a
    join sightings b
        on b.source = a.source and b.record_id = a.record_id and b.node_id > a.node_id
    {%- if logged is not none %}
    where a.restated or b.restated
    {%- endif %}
)

select node_a, node_b, earliest.first_seen_at, earliest.first_source, earliest.first_record_id, records
from (
    select
        node_a,
        node_b,
        {{ min_struct([['first_seen_at', 'seen_at'], ['first_source', 'source'], ['first_record_id', 'record_id']]) }} as earliest,
        count(*) as records
    from pairs
    group by node_a, node_b
)
