{#- Every uploaded list an audience refers to (`in_list`) has accepted rows tonight: a missing,
    misspelled or wholly rejected list would otherwise match nobody, and `not: {in_list: ...}`
    would silently suppress no one. -#}
{% test lists_are_uploaded(model, lists) %}
{%- set names = [] %}{% for x in lists %}{% do names.append("'" ~ x ~ "'") %}{% endfor %}
select l.list as missing_list
from {{ one_column('list', names) }} l
where not exists (select 1 from {{ ref('stg_marketing__list_members') }} m where m.list = l.list)
{% endtest %}
