{{ nightly_history() }}
-- What identity resolution changed tonight against the last build: customers that merged, split
-- or were renamed (anchor gone), with the evidence (the record that linked them) or the rule
-- (blocked value, hub, cut link, per-type limit) responsible. Never rebuilt from scratch: it is
-- the history. The first build only records its date (`baseline`).
-- depends_on: {{ ref('identity_resolution') }}, {{ ref('identity_edges') }}
-- depends_on: {{ ref('identity_identifiers') }}, {{ ref('identity_cut_links') }}
{%- set previous = adapter.get_relation(this.database, this.schema, 'identity_assignments') %}

{% if previous is none %}
select {{ as_of_date() }} as as_of_date, 'baseline' as change, cast(null as string) as customer_id,
    cast(null as string) as previous_customer_id, cast(0 as bigint) as identifiers, cast(null as string) as reason,
    cast(null as string) as evidence_source, cast(null as string) as evidence_record_id
{% else %}
with tonight as (
    select node_id, id_key, customer_id, split_type
    from {{ ref('identity_resolution') }}
),

before as (
    select id_key, customer_id as previous_customer_id from {{ previous }}
    where as_of_date = {{ previous_night(previous) }}
),

-- Identifiers whose customer changed (new, gone or moved). Only their customers can have merged
-- (tonight's side) or split (the earlier side): a customer whose identifiers all kept their
-- customer id did neither, so the rest of the model reads just these customers' identifiers
-- (a few per cent of them on a night with new data, none on a quiet night).
changed as (
    select t.customer_id, b.previous_customer_id
    from tonight t full join before b using (id_key)
    where t.customer_id is distinct from b.previous_customer_id
),

moved as (
    select t.*, b.previous_customer_id
    from tonight t join before b using (id_key)
    where t.customer_id in (select customer_id from changed)
),

-- Tonight's customers holding identifiers of several earlier customers: merges.
merges as (
    select customer_id, previous_customer_id, count(*) as identifiers
    from moved
    where customer_id in (select customer_id from moved group by customer_id
                          having count(distinct previous_customer_id) > 1)
    group by customer_id, previous_customer_id
),

-- The link that joined them: the first edge between an identifier of the absorbed customer and
-- one of another earlier customer inside tonight's customer. Edges are looked up from each of
-- their two ends with an equality join (an `in (node_a, node_b)` condition cannot be hashed:
-- it compared every merged identifier with every edge, 8 s at 10 M events).
merged_nodes as (
    select a.node_id, a.customer_id, a.previous_customer_id
    from moved a join merges m using (customer_id, previous_customer_id)
),

merged_edge_ends as (
    select n.*, e.node_b as other_node_id, e.first_seen_at, e.first_source, e.first_record_id
    from merged_nodes n join {{ ref('identity_edges') }} e on e.node_a = n.node_id
    union all
    select n.*, e.node_a, e.first_seen_at, e.first_source, e.first_record_id
    from merged_nodes n join {{ ref('identity_edges') }} e on e.node_b = n.node_id
),

merge_evidence as (
    select a.customer_id, a.previous_customer_id,
        {{ arg_min('a.first_source', ['a.first_seen_at', 'a.first_source', 'a.first_record_id']) }} as evidence_source,
        {{ arg_min('a.first_record_id', ['a.first_seen_at', 'a.first_source', 'a.first_record_id']) }} as evidence_record_id
    from merged_edge_ends a
    join moved b on b.node_id = a.other_node_id
        and b.customer_id = a.customer_id and b.previous_customer_id <> a.previous_customer_id
    group by a.customer_id, a.previous_customer_id
),

-- The earlier customers' identifiers, keyed: tonight's key where the identifier resolves, else
-- (blocked, hub: a few) hashed here.
keys as (
    select node_id, id_key from tonight
    union all
    select i.node_id, {{ sha256("i.id_type || ':' || i.id_value") }}
    from {{ ref('identity_identifiers') }} i anti join tonight t using (node_id)
),

-- Earlier customers whose identifiers are now spread over several customers (or over a customer
-- and nobody): splits. The reason is the rule that now keeps them apart.
spread as (
    select b.previous_customer_id, i.node_id, i.id_type, i.id_value, t.customer_id, t.split_type, i.status,
        i.blocked_reason, i.degree
    from before b
    left join tonight t using (id_key)
    left join keys k using (id_key)
    left join {{ ref('identity_identifiers') }} i on i.node_id = k.node_id
    where b.previous_customer_id in (select previous_customer_id from changed)
),

splits as (
    select previous_customer_id, customer_id, count(*) as identifiers,
        coalesce(
            max('per-type limit: more than the allowed ' || split_type || ' values') filter (where split_type is not null),
            'the records that linked them are gone') as reason
    from spread
    where customer_id is not null
      and previous_customer_id in (
          select previous_customer_id from spread group by previous_customer_id
          having count(distinct customer_id) > 1
              or (count(distinct customer_id) = 1 and count(*) filter (where customer_id is null) > 0
                  and count(*) filter (where status in ('blocked', 'hub')) > 0))
    group by previous_customer_id, customer_id
),

split_rules as (
    select previous_customer_id,
        nullif({{ join_list(sorted_set_agg("case
            when status = 'blocked' then id_type || ' blocked (' || blocked_reason || ')'
            when status = 'hub' then id_type || ' became a hub (linked to ' || degree || ' values)'
        end"), "'; '") }}, '') as rule
    from spread
    group by previous_customer_id
),

cut_rules as (
    select a.previous_customer_id, nullif({{ join_list(sorted_set_agg("'link cut (' || c.reason || ')'"), "'; '") }}, '') as rule
    from {{ ref('identity_cut_links') }} c
    join spread a on a.node_id = c.node_a
    join spread b on b.previous_customer_id = a.previous_customer_id and b.node_id = c.node_b
    group by a.previous_customer_id
),

-- Same identifiers, new id: the anchor left the customer (erased, blocked) or an older one joined.
renames as (
    select customer_id, previous_customer_id, count(*) as identifiers
    from moved
    where customer_id <> previous_customer_id
      and customer_id not in (select customer_id from merges)
      and previous_customer_id not in (select previous_customer_id from splits)
    group by customer_id, previous_customer_id
)

select {{ as_of_date() }} as as_of_date, 'merged' as change, m.customer_id, m.previous_customer_id,
    m.identifiers, 'co-occurrence on one record' as reason, e.evidence_source, e.evidence_record_id
from merges m left join merge_evidence e using (customer_id, previous_customer_id)
where m.customer_id <> m.previous_customer_id
union all
select {{ as_of_date() }}, 'split', s.customer_id, s.previous_customer_id, s.identifiers,
    coalesce(r.rule, c.rule, s.reason), null, null
from splits s
left join split_rules r using (previous_customer_id)
left join cut_rules c using (previous_customer_id)
union all
select {{ as_of_date() }}, 'renamed', customer_id, previous_customer_id, identifiers,
    'anchor identifier left the customer', null, null
from renames
{% endif %}
