{#- Tables that keep one slice per built night (`as_of_date`): a night replaces its own slice
    and never rebuilds the others (`full_refresh=false`: they are the history). `keep` names
    which nights stay after the build: 'all', 'previous' (tonight's and the last build's
    before it), or a var holding a number of days. DuckDB deletes tonight's rows and inserts;
    Spark's Parquet tables are partitioned by night and overwrite tonight's partition. -#}
{% macro nightly_history(keep='all', on_schema_change='ignore') %}
{%- set forget = [] if keep == 'all' else ["{{ forget_nights('" ~ keep ~ "') }}"] -%}
{%- if target.type == 'spark' %}
{{ config(materialized='incremental', full_refresh=false, incremental_strategy='insert_overwrite',
          partition_by=['as_of_date'], file_format='parquet', on_schema_change=on_schema_change,
          post_hook=forget) }}
{%- else %}
{{ config(materialized='incremental', full_refresh=false, incremental_strategy='delete+insert',
          unique_key='as_of_date', on_schema_change=on_schema_change, post_hook=forget) }}
{%- endif %}
{% endmacro %}

{#- The last night before tonight that history table `relation` holds, as a date literal
    (`cast(null as date)` when there is none), looked up once as the model runs: a model then
    reads that one night (Spark prunes the other partitions) instead of the engine evaluating a
    subquery wherever the night is referenced (Spark ran one per reference of a CTE: 96 for
    `identity_changes`). -#}
{% macro previous_night(relation) -%}
{%- set night = none -%}
{%- if execute -%}
    {%- set found = run_query("select cast(max(as_of_date) as string) from " ~ relation ~ " where as_of_date < " ~ as_of_date()) -%}
    {%- set night = found.columns[0].values()[0] -%}
{%- endif -%}
{{- "date '" ~ night ~ "'" if night else "cast(null as date)" -}}
{%- endmacro %}

{% macro forget_nights(keep) -%}
{%- if keep == 'previous' -%}
    {%- set forgotten = "as_of_date < " ~ previous_night(this) -%}
{%- else -%}
    {%- set forgotten = "as_of_date <= " ~ as_of_date() ~ " - " ~ var(keep) -%}
{%- endif -%}
{{ adapter.dispatch('forget_nights', 'cdp')(forgotten) }}
{%- endmacro %}

{% macro default__forget_nights(forgotten) -%}
delete from {{ this }} where {{ forgotten }}
{%- endmacro %}

{#- A Parquet table cannot delete rows: the forgotten nights' partitions are dropped. -#}
{% macro spark__forget_nights(forgotten) -%}
{%- if execute -%}
{%- set nights = run_query("select distinct cast(as_of_date as string) from " ~ this ~ " where " ~ forgotten) -%}
{%- for night in nights.columns[0].values() -%}
    {%- do run_query("alter table " ~ this ~ " drop if exists partition (as_of_date = '" ~ night ~ "')") -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro %}
