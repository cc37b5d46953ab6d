{#- Seeds on Spark: dbt-spark's session method turns every CSV value into a quoted string
    literal, an empty cell included ('None'), so a seed rule's "any value" became the value
    'None'. Empty cells load as NULL here; the rest as dbt-spark writes them. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
{%- set column_override = model['config'].get('column_types', {}) -%}
{%- set statements = [] -%}
{%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
    insert into {{ this.render() }} values
    {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
            {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
            {%- set value = row[loop.index0] -%}
            {%- if value is none -%}cast(null as {{ type }})
            {%- elif value is number and value is not sameas true and value is not sameas false -%}cast({{ value }} as {{ type }})
            {%- else -%}cast('{{ value | string | replace("'", "\\'") }}' as {{ type }})
            {%- endif -%}
            {{- ", " if not loop.last }}
        {%- endfor -%}){{ "," if not loop.last }}
    {% endfor -%}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- do statements.append(sql) if loop.first -%}
{%- endfor -%}
{{ return(statements[0] if statements else '') }}
{% endmacro %}
