{#- A marketer's upload as the lake holds it (`lake/marketing/<name>.parquet`, written by the
    `lake/marketing` asset), or no rows of the same shape when nothing was ever uploaded.
    `columns`: name -> SQL type of the empty shape. -#}
{% macro marketing_upload(name, columns) -%}
{%- set path = var('data_dir') ~ '/lake/marketing/' ~ name ~ '.parquet' -%}
{%- set found = run_query("select count(*) from glob('" ~ path ~ "')") if execute else none -%}
{%- if found is not none and found.columns[0].values()[0] > 0 -%}
select {{ columns.keys() | join(', ') }} from read_parquet('{{ path }}')
{%- else -%}
select {% for c, t in columns.items() %}cast(null as {{ t }}) as {{ c }}{{ ", " if not loop.last }}{% endfor %} where false
{%- endif -%}
{%- endmacro %}
