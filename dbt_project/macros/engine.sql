{#- What DuckDB and Spark spell differently, in one place. Each macro dispatches on the target
    (`default__` is DuckDB's spelling, `spark__` Spark's); models call the plain name. Spark's
    spelling keeps DuckDB's results exactly (NULL handling and ordering included): the `spark`
    tests compare the marts of both engines row for row. -#}

{#- The first row of each `partition_by` group by `order_by`, over the rows of the call body
    (both must name output columns of the body). -#}
{% macro first_per(partition_by, order_by) -%}
{{ adapter.dispatch('first_per', 'cdp')(partition_by, order_by, caller()) }}
{%- endmacro %}

{% macro default__first_per(partition_by, order_by, body) -%}
{{ body }}
qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}

{% macro spark__first_per(partition_by, order_by, body) -%}
select * except (first_per_rank) from (
    select *, row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as first_per_rank
    from ({{ body }}) first_per_rows
) where first_per_rank = 1
{%- endmacro %}

{#- Lower-case hex SHA-256 of a string. -#}
{% macro sha256(expr) -%}
{{ adapter.dispatch('sha256', 'cdp')(expr) }}
{%- endmacro %}

{% macro default__sha256(expr) -%}
sha256({{ expr }})
{%- endmacro %}

{% macro spark__sha256(expr) -%}
sha2({{ expr }}, 256)
{%- endmacro %}

{#- A UTC timestamp as the wall clock of time zone `tz` (a SQL string literal). -#}
{% macro utc_to_local(ts, tz) -%}
{{ adapter.dispatch('utc_to_local', 'cdp')(ts, tz) }}
{%- endmacro %}

{% macro default__utc_to_local(ts, tz) -%}
timezone({{ tz }}, timezone('UTC', {{ ts }}))
{%- endmacro %}

{% macro spark__utc_to_local(ts, tz) -%}
from_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}

{#- One Parquet file of the lake as a relation. -#}
{% macro parquet_file(path) -%}
{{ adapter.dispatch('parquet_file', 'cdp')(path) }}
{%- endmacro %}

{% macro default__parquet_file(path) -%}
read_parquet('{{ path }}')
{%- endmacro %}

{% macro spark__parquet_file(path) -%}
parquet.`{{ path }}`
{%- endmacro %}

{#- Whether a file of the lake exists (at run time). -#}
{% macro lake_file_exists(path) -%}
{{ return(adapter.dispatch('lake_file_exists', 'cdp')(path)) }}
{%- endmacro %}

{% macro default__lake_file_exists(path) -%}
{%- if not execute -%}{{ return(false) }}{%- endif -%}
{%- set found = run_query("select count(*) from glob('" ~ path ~ "')") -%}
{{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- Spark SQL cannot list files: the files asked about (the marketers' uploads) are written every
    night by the `lake/marketing` asset, even when empty, before any model runs. -#}
{% macro spark__lake_file_exists(path) -%}
{{ return(execute) }}
{%- endmacro %}

{#- Functions the models call by DuckDB's name that Spark lacks, created as Spark SQL functions
    before any model runs (on-run-start; the data tests' expressions use them too). -#}
{% macro engine_functions() -%}
{{ adapter.dispatch('engine_functions', 'cdp')() }}
{%- endmacro %}

{% macro default__engine_functions() -%}
{%- endmacro %}

{% macro spark__engine_functions() -%}
create or replace function regexp_full_match(s string, pattern string) returns boolean
    return s rlike concat('^(?:', pattern, ')$')
{%- endmacro %}

{#- The `value` of the row with the smallest (largest) `keys`, among rows where `value` is not
    NULL: DuckDB's arg_min/arg_max. `keys` is one expression (rows where it is NULL are skipped)
    or a list, compared in order as a tuple, a NULL field above any value. -#}
{% macro arg_min(value, keys) -%}
{{ adapter.dispatch('arg_by', 'cdp')('min', value, [keys] if keys is string else keys) }}
{%- endmacro %}

{% macro arg_max(value, keys) -%}
{{ adapter.dispatch('arg_by', 'cdp')('max', value, [keys] if keys is string else keys) }}
{%- endmacro %}

{% macro default__arg_by(fn, value, keys) -%}
{%- if keys | length == 1 -%}
arg_{{ fn }}({{ value }}, {{ keys[0] }})
{%- else -%}
arg_{{ fn }}({{ value }}, ({{ keys | join(', ') }}))
{%- endif -%}
{%- endmacro %}

{#- Spark's min_by/max_by keep a NULL value and sort a NULL struct field below any value: the key
    is NULL where the value is, and each field comes after whether it is NULL. -#}
{% macro spark__arg_by(fn, value, keys) -%}
{%- if keys | length == 1 -%}
{{ fn }}_by({{ value }}, case when {{ value }} is not null then {{ keys[0] }} end)
{%- else -%}
{%- set fields = [] -%}
{%- for key in keys -%}
    {%- do fields.append("'n" ~ loop.index ~ "', " ~ key ~ " is null, 'v" ~ loop.index ~ "', " ~ key) -%}
{%- endfor -%}
{{ fn }}_by({{ value }}, case when {{ value }} is not null then named_struct({{ fields | join(', ') }}) end)
{%- endif -%}
{%- endmacro %}

{#- The distinct non-NULL values of `expr` in a group, sorted. -#}
{% macro sorted_set_agg(expr) -%}
{{ adapter.dispatch('sorted_set_agg', 'cdp')(expr) }}
{%- endmacro %}

{% macro default__sorted_set_agg(expr) -%}
list_sort(list_distinct(list({{ expr }})))
{%- endmacro %}

{% macro spark__sorted_set_agg(expr) -%}
array_sort(collect_set({{ expr }}))
{%- endmacro %}

{#- A list of strings joined with `separator` (a SQL string literal). -#}
{% macro join_list(list, separator) -%}
{{ adapter.dispatch('join_list', 'cdp')(list, separator) }}
{%- endmacro %}

{% macro default__join_list(list, separator) -%}
array_to_string({{ list }}, {{ separator }})
{%- endmacro %}

{% macro spark__join_list(list, separator) -%}
array_join({{ list }}, {{ separator }})
{%- endmacro %}
