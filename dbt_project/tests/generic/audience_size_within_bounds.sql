{#- The audience's size tonight against its size on the previous night in audience_membership:
    fails when it moved by more than `max_change` (a share of the previous size) and by more than
    `min_change` members (small audiences wobble), or became empty (unless `allow_empty`). The
    first night of an audience, or after an empty night, passes. -#}
{% test audience_size_within_bounds(model, audience, max_change, min_change=0, allow_empty=false) %}
{#- the ledger by name, not ref(): the test must run right after the audience, before the ledger -#}
{%- set ledger = adapter.get_relation(model.database, model.schema, 'audience_membership') %}
{%- if ledger is none %}
select 1 where false
{%- else %}
with tonight as (
    select count(*) as size from {{ model }}
),

previous as (
    select count(*) as size
    from {{ ledger }}
    where audience = '{{ audience }}'
      and as_of_date = (select max(as_of_date) from {{ ledger }}
                        where as_of_date < {{ as_of_date() }})
)

select
    '{{ audience }}' as audience,
    p.size as previous_size,
    t.size as size,
    case when t.size = 0 then 'became empty' else 'moved by more than {{ max_change }} of its size' end as problem
from tonight t, previous p
where p.size > 0
  and ((t.size = 0 and not {{ allow_empty }}) or (abs(t.size - p.size) > {{ max_change }} * p.size
                                                and abs(t.size - p.size) > {{ min_change }}))
{%- endif %}
{% endtest %}
