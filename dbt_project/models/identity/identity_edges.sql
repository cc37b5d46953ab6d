-- Links between linked identifiers that appear on one record, one row per pair, with the first
-- record that made the link (the evidence `identity_changes` cites). For a pair in
-- `identity_blocked_edges` (an operator's unmerge), a record carrying both is no evidence at all:
-- it links none of its identifiers (`identity_clusters` keeps the pair apart even if other
-- records still connect them).
with all_sightings as (
    select o.source, o.record_id, o.seen_at, i.node_id
    from {{ ref('identity_occurrences') }} o
    join {{ ref('identity_identifiers') }} i
        on i.id_type = o.id_type and i.id_value = o.id_value and i.status = 'linked'
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
