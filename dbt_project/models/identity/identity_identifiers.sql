{{ restated_by_node('identity_occurrences', seeds=['identity_blocklist', 'identity_id_types']) }}
-- depends_on: {{ ref('identity_blocklist') }}, {{ ref('identity_id_types') }}
-- One row per identifier ever seen, with the verdict of the rules in the identity seeds:
--   blocked  its value matches `identity_blocklist` (junk, placeholders, test addresses)
--   hub      it co-occurs with more limited-type values than its type's `max_degree` allows
--            (a shop's shared tablet): it joins nobody
--   linked   it may join the identifiers it co-occurs with
-- node_id is hashed from the identifier (`identity_occurrences` carries it), not numbered: the
-- same on every night and in every rebuild (a collision would fail the `unique` test on node_id,
-- not merge two people). A night derives again only the identifiers on the records whose
-- sightings changed (macros/restated_nodes.sql): a row depends on the identifier's own sightings
-- and, for its degree, on the records carrying them.
-- Aggregated per source first: the second step then lists a few sources per identifier instead
-- of one per sighting (at 10 M events: 46 s -> 29 s).
{%- set logged = logged_nodes() %}
with
{%- if logged is none %}
sightings as (
    select * from {{ ref('identity_occurrences') }}
),

record_sightings as (
    select * from {{ ref('identity_occurrences') }}
),
{%- else %}
-- every sighting of the identifiers derived again, and every sighting on the records carrying them
sightings as (
    select o.* from {{ ref('identity_occurrences') }} o semi join ({{ logged }}) l using (node_id)
),

record_sightings as (
    select o.* from {{ ref('identity_occurrences') }} o
    semi join (select distinct source, record_id from sightings) r using (source, record_id)
),
{%- endif %}

per_source as (
    select node_id, id_type, id_value, source, min(seen_at) as first_seen_at, max(seen_at) as last_seen_at,
        count(*) as occurrences
    from sightings
    group by node_id, id_type, id_value, source
),

seen as (
    select
        node_id,
        id_type,
        id_value,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(sum(occurrences) as bigint) as occurrences,
        count(*) as source_count,
        {{ sorted_set_agg('source') }} as sources
    from per_source
    group by node_id, id_type, id_value
),

-- Blocklist patterns (checked for every identifier on the records read: a blocked value does not
-- count in its partners' degree) are read at compile time and inlined as constants, so each regular
-- expression is compiled once, not once per identifier (a join on a pattern column is ~20x slower).
{%- set blocklist = run_query("select id_type, pattern, reason from " ~ ref('identity_blocklist') ~ " order by 1, 2, 3").rows
    if execute else [] %}
blocked as (
    select node_id, blocked_reason
    from (
        select node_id,
            {%- if blocklist | length == 0 %} cast(null as string)
            {%- else %}
            case
            {%- for rule in blocklist %}
                when {% if rule[0] != '*' %}id_type = '{{ rule[0] }}' and {% endif -%}
                    regexp_full_match(id_value, '{{ rule[1] | replace("'", "''") }}')
                    then '{{ rule[2] | replace("'", "''") }}'
            {%- endfor %}
            end
            {%- endif %} as blocked_reason
        from {{ 'seen' if logged is none else '(select distinct node_id, id_type, id_value from record_sightings)' }}
    )
    where blocked_reason is not null
),

-- Degree: how many distinct values of limited types (a person holds few of them) an identifier
-- shares a record with. Blocked values do not count: they are taken out of the distinct
-- partners (737 k at 10 M events), not of the 5.9 M limited sightings, where the anti join was
-- built on the sightings (10 M events, the model alone, identical rows: 8.5 s -> 6.9-7.5 s on
-- an idle machine, 27.3 s -> 16.4 s on a busy one).
limited_sightings as (
    select o.source, o.record_id, o.node_id
    from record_sightings o
    join {{ ref('identity_id_types') }} t on t.id_type = o.id_type and t.max_per_customer is not null
),

partners as (
    select distinct o.node_id, l.node_id as partner
    from sightings o
    join limited_sightings l
        on l.source = o.source and l.record_id = o.record_id and l.node_id <> o.node_id
),

degree as (
    select p.node_id, count(*) as degree
    from partners p
    anti join blocked b on b.node_id = p.partner
    group by p.node_id
)

select
    s.node_id,
    s.id_type,
    s.id_value,
    s.first_seen_at,
    s.last_seen_at,
    s.occurrences,
    s.source_count,
    s.sources,
    coalesce(d.degree, 0) as degree,
    t.priority,
    t.is_pii,
    b.blocked_reason,
    case
        when b.blocked_reason is not null then 'blocked'
        when coalesce(d.degree, 0) > t.max_degree then 'hub'
        else 'linked'
    end as status
from seen s
join {{ ref('identity_id_types') }} t on t.id_type = s.id_type
left join blocked b using (node_id)
left join degree d using (node_id)
