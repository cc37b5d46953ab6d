-- One row per identifier ever seen, with the verdict of the rules in the identity seeds:
--   blocked  its value matches `identity_blocklist` (junk, placeholders, test addresses)
--   hub      it co-occurs with more limited-type values than its type's `max_degree` allows
--            (a shop's shared tablet): it joins nobody
--   linked   it may join the identifiers it co-occurs with
-- node_id is hashed from the identifier, not numbered: the same on every night and in every
-- rebuild (what restating the graph only where a night touches it will need; a collision would
-- fail the `unique` test on node_id, not merge two people). On the 10 M warehouse the chain from here
-- to `identity_resolution` took 20.9-22.5 s with hashed ids against 22.8 s with row numbers (no
-- sort to number them), with the same customer for every identifier.
-- Aggregated per source first: the second step then lists a few sources per identifier instead
-- of one per sighting (at 10 M events: 46 s -> 29 s).
with per_source as (
    select id_type, id_value, source, min(seen_at) as first_seen_at, max(seen_at) as last_seen_at,
        count(*) as occurrences
    from {{ ref('identity_occurrences') }}
    group by id_type, id_value, source
),

seen as (
    select
        id_type,
        id_value,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(sum(occurrences) as bigint) as occurrences,
        count(*) as source_count,
        {{ sorted_set_agg('source') }} as sources
    from per_source
    group by id_type, id_value
),

-- depends_on: {{ ref('identity_blocklist') }}
-- Blocklist patterns are read at compile time and inlined as constants, so each regular
-- expression is compiled once, not once per identifier (a join on a pattern column is ~20x slower).
{%- set blocklist = run_query("select id_type, pattern, reason from " ~ ref('identity_blocklist') ~ " order by 1, 2, 3").rows
    if execute else [] %}
blocked as (
    select id_type, id_value, blocked_reason
    from (
        select id_type, id_value,
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
        from seen
    )
    where blocked_reason is not null
),

-- Degree: how many distinct values of limited types (a person holds few of them) an identifier
-- shares a record with. Blocked values do not count: they are taken out of the distinct
-- partners (737 k at 10 M events), not of the 5.9 M limited sightings, where the anti join was
-- built on the sightings (10 M events, the model alone, identical rows: 8.5 s -> 6.9-7.5 s on
-- an idle machine, 27.3 s -> 16.4 s on a busy one).
limited_sightings as (
    select o.source, o.record_id, o.id_type, o.id_value
    from {{ ref('identity_occurrences') }} o
    join {{ ref('identity_id_types') }} t on t.id_type = o.id_type and t.max_per_customer is not null
),

partners as (
    select distinct o.id_type, o.id_value, l.id_type as partner_type, l.id_value as partner_value
    from {{ ref('identity_occurrences') }} o
    join limited_sightings l
        on l.source = o.source and l.record_id = o.record_id
        and (l.id_type, l.id_value) <> (o.id_type, o.id_value)
),

degree as (
    select p.id_type, p.id_value, count(*) as degree
    from partners p
    anti join blocked b on b.id_type = p.partner_type and b.id_value = p.partner_value
    group by p.id_type, p.id_value
)

select
    {{ hashed_id("s.id_type || ':' || s.id_value") }} as node_id,
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
left join blocked b on b.id_type = s.id_type and b.id_value = s.id_value
left join degree d on d.id_type = s.id_type and d.id_value = s.id_value
