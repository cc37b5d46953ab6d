{#- A marketer's upload as the lake holds it (`lake/marketing/<name>.parquet`, written by the
    `lake/marketing` asset), or no rows of the same shape when nothing was ever uploaded.
    `columns`: name -> SQL type of the empty shape. -#}
{% macro marketing_upload(name, columns) -%}
{%- set path = var('data_dir') ~ '/lake/marketing/' ~ name ~ '.parquet' -%}
{%- if lake_file_exists(path) -%}
select {{ columns.keys() | join(', ') }} from {{ parquet_file(path) }}
{%- else -%}
select {% for c, t in columns.items() %}cast(null as {{ t }}) as {{ c }}{{ ", " if not loop.last }}{% endfor %} where false
{%- endif -%}
{%- endmacro %}
