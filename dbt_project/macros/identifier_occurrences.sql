{#- Every identifier a staging model's records carry, one row per (record, identifier).
    `columns` maps an id_type to the column holding it in normal form; nulls are skipped. -#}
{% macro identifier_occurrences(model, columns, seen_at='occurred_at', where=none) %}
select source, record_id, id_type, id_value, {{ hashed_id("id_type || ':' || id_value") }} as node_id, seen_at, delivery_date
from (
    select source, record_id, {{ seen_at }} as seen_at, delivery_date,
        {%- for id_type, column in columns.items() %}
        cast({{ column }} as string) as {{ id_type }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref(model) }}
    {% if where %}where {{ where }}{% endif %}
) unpivot (id_value for id_type in ({{ columns.keys() | join(', ') }}))
{% endmacro %}
