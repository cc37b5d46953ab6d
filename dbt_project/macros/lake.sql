{#- The lake as it stood on the night `as_of_date`: only deliveries up to that night are read, so
    replaying a past night sees exactly what that night saw. -#}
{% macro lake(table) -%}
(select * from {{ source('lake', table) }} where delivery_date <= {{ as_of_date() }})
{%- endmacro %}

{% macro as_of_date() -%}
date '{{ var("as_of_date") }}'
{%- endmacro %}

{#- A stable id for a record without one of its own: a hash of its natural key. -#}
{% macro hash_key(columns) -%}
left(sha256(concat_ws('|'{% for c in columns %}, coalesce(cast({{ c }} as varchar), '~'){% endfor %})), 20)
{%- endmacro %}

{#- The business day of a UTC timestamp, in the configured time zone. -#}
{% macro business_date(ts) -%}
cast(timezone('{{ var("business_tz") }}', timezone('UTC', {{ ts }})) as date)
{%- endmacro %}

{#- One row per record: a record re-delivered after the lake's dedupe lookback is still one
    record (the first delivery wins). -#}
{% macro one_row_per(key) -%}
qualify row_number() over (partition by {{ key }} order by delivery_date) = 1
{%- endmacro %}
