{#- What DuckDB and Spark spell differently, in one place. Each macro dispatches on the target
    (`default__` is DuckDB's spelling, `spark__` Spark's); models call the plain name. Spark's
    spelling keeps DuckDB's results exactly (NULL handling and ordering included): the `spark`
    tests compare the marts of both engines row for row. -#}

{#- The first row of each `partition_by` group by `order_by`, over the rows of the call body
    (both must name output columns of the body). `repeats='rare'`: most keys occur once (records
    of the append-only sources, which ingestion already deduplicates within its lookback). -#}
{% macro first_per(partition_by, order_by, repeats='common') -%}
{{ adapter.dispatch('first_per', 'cdp')(partition_by, order_by, caller(), repeats) }}
{%- endmacro %}

{#- DuckDB's window sorts whole rows: over a first build of millions of wide records that sort
    cost more than the rest of the model (the mini-program's 2.8 M events: 10-14 s against 4.5 s
    without it). With rare repeats, only the rows of a repeated key go through it. Keys compare
    null-safe, as a window partition does. -#}
{% macro default__first_per(partition_by, order_by, body, repeats) -%}
{%- if repeats == 'rare' -%}
{%- set keys = partition_by.split(',') | map('trim') | list -%}
{%- set same_key = [] -%}
{%- for k in keys %}{% do same_key.append("r." ~ k ~ " is not distinct from k." ~ k) %}{% endfor -%}
select * from (
    with first_per_rows as materialized (
{{ body }}
    ),
    first_per_repeated as (
        select {{ partition_by }} from first_per_rows group by all having count(*) > 1
    )
    select r.* from first_per_rows r anti join first_per_repeated k on {{ same_key | join(' and ') }}
    union all
    select * from (select r.* from first_per_rows r semi join first_per_repeated k on {{ same_key | join(' and ') }})
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
)
{%- else -%}
{{ body }}
qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endif -%}
{%- endmacro %}

{% macro spark__first_per(partition_by, order_by, body, repeats) -%}
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

{#- The first 60 bits of the SHA-256 of a string, as a (non-negative) bigint: the same on both
    engines, on every night and in every rebuild. -#}
{% macro hashed_id(expr) -%}
{{ adapter.dispatch('hashed_id', 'cdp')(expr) }}
{%- endmacro %}

{% macro default__hashed_id(expr) -%}
cast('0x' || left({{ sha256(expr) }}, 15) as bigint)
{%- endmacro %}

{% macro spark__hashed_id(expr) -%}
cast(conv(left({{ sha256(expr) }}, 15), 16, 10) as bigint)
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

{#- Spark SQL cannot list files: `cdp spark` passes the ones it found (var `lake_files`: the
    marketers' uploads, the only files asked about). Without the var they are taken to exist: the
    `lake/marketing` asset writes them every night, even when empty, before any model runs. -#}
{% macro spark__lake_file_exists(path) -%}
{%- if not execute -%}{{ return(false) }}{%- endif -%}
{%- set found = var('lake_files', none) -%}
{{ return(found is none or path in found) }}
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

{#- The smallest tuple of `fields` (a list of [name, expression]) among the rows, compared in
    order, a NULL field above any value: one struct whose fields carry the names. Several
    arg_min over one key keep one state per key each: for the first record behind each of the
    10 M world's 640 k identity edges, 2.0 s -> 1.0 s (4.6 s -> 1.2 s with hashed node ids). -#}
{% macro min_struct(fields) -%}
{{ adapter.dispatch('min_struct', 'cdp')(fields) }}
{%- endmacro %}

{% macro default__min_struct(fields) -%}
min({ {%- for name, expr in fields %}'{{ name }}': {{ expr }}{{ ', ' if not loop.last }}{% endfor -%} })
{%- endmacro %}

{#- Spark sorts a NULL struct field below any value: each field comes after whether it is NULL. -#}
{% macro spark__min_struct(fields) -%}
min(named_struct({%- for name, expr in fields %}'{{ name }}__is_null', ({{ expr }}) is null, '{{ name }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor -%}))
{%- endmacro %}

{% macro default__arg_by(fn, value, keys) -%}
arg_{{ fn }}({{ value }}, {{ order_key(keys) }})
{%- endmacro %}

{#- Spark's min_by/max_by keep a NULL value: the key is NULL where the value is (and its fields
    sort after whether they are NULL: `spark__order_key`). -#}
{% macro spark__arg_by(fn, value, keys) -%}
{{ fn }}_by({{ value }}, case when {{ value }} is not null then {{ order_key(keys) }} end)
{%- endmacro %}

{#- The distinct non-NULL values of `expr` in a group (its rows matching `where`), sorted. -#}
{% macro sorted_set_agg(expr, where=none) -%}
{{ adapter.dispatch('sorted_set_agg', 'cdp')(expr, where) }}
{%- endmacro %}

{% macro default__sorted_set_agg(expr, where) -%}
list_sort(list_distinct(list({{ expr }}){% if where %} filter (where {{ where }}){% endif %}))
{%- endmacro %}

{% macro spark__sorted_set_agg(expr, where) -%}
array_sort(collect_set({{ expr }}){% if where %} filter (where {{ where }}){% endif %})
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

{#- The distinct non-NULL elements of lists gathered over a group, sorted. -#}
{% macro sorted_set_union_agg(lists) -%}
{{ adapter.dispatch('sorted_set_union_agg', 'cdp')(lists) }}
{%- endmacro %}

{% macro default__sorted_set_union_agg(lists) -%}
list_sort(list_distinct(flatten(list({{ lists }}))))
{%- endmacro %}

{% macro spark__sorted_set_union_agg(lists) -%}
array_sort(array_distinct(filter(flatten(collect_list({{ lists }})), x -> x is not null)))
{%- endmacro %}

{#- The distinct non-NULL elements of one list, sorted. -#}
{% macro sorted_set(list) -%}
{{ adapter.dispatch('sorted_set', 'cdp')(list) }}
{%- endmacro %}

{% macro default__sorted_set(list) -%}
list_sort(list_distinct({{ list }}))
{%- endmacro %}

{% macro spark__sorted_set(list) -%}
array_sort(array_distinct(filter({{ list }}, x -> x is not null)))
{%- endmacro %}

{#- A list of the SQL expressions `items`, of element type `type`; `[]` gives an empty list. -#}
{% macro list_of(items, type) -%}
{{ adapter.dispatch('list_of', 'cdp')(items, type) }}
{%- endmacro %}

{% macro default__list_of(items, type) -%}
cast([{{ items | join(', ') }}] as {{ type }}[])
{%- endmacro %}

{% macro spark__list_of(items, type) -%}
cast(array({{ items | join(', ') }}) as array<{{ type }}>)
{%- endmacro %}

{% macro concat_lists(first, second) -%}
{{ adapter.dispatch('concat_lists', 'cdp')(first, second) }}
{%- endmacro %}

{% macro default__concat_lists(first, second) -%}
list_concat({{ first }}, {{ second }})
{%- endmacro %}

{% macro spark__concat_lists(first, second) -%}
concat({{ first }}, {{ second }})
{%- endmacro %}

{#- The first element of a list (NULL when it is empty). -#}
{% macro list_first(list) -%}
{{ adapter.dispatch('list_first', 'cdp')(list) }}
{%- endmacro %}

{% macro default__list_first(list) -%}
{{ list }}[1]
{%- endmacro %}

{% macro spark__list_first(list) -%}
get({{ list }}, 0)
{%- endmacro %}

{#- The list of `value` over a group's rows (those matching `where`, when given), ordered by
    `order_by`: a list of expressions, each optionally followed by ` desc`; NULL keys last. -#}
{% macro ordered_list_agg(value, order_by, where=none) -%}
{{ adapter.dispatch('ordered_list_agg', 'cdp')(value, order_by, where) }}
{%- endmacro %}

{% macro default__ordered_list_agg(value, order_by, where) -%}
list({{ value }} order by {{ order_by | join(', ') }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{#- Spark's array_sort takes a comparator: keys compared in turn, NULLs after any value. -#}
{% macro spark__ordered_list_agg(value, order_by, where) -%}
{%- set fields = ["'v', " ~ value] -%}
{%- set tests = [] -%}
{%- for key in order_by -%}
    {%- set descending = key.strip().lower().endswith(' desc') -%}
    {%- set expr = key.strip()[:-5] if descending else key -%}
    {%- set k = 'k' ~ loop.index -%}
    {%- do fields.append("'" ~ k ~ "', " ~ expr) -%}
    {%- do tests.append("when l." ~ k ~ " is null and r." ~ k ~ " is not null then 1 when l." ~ k ~ " is not null and r."
                        ~ k ~ " is null then -1 when l." ~ k ~ (" > " if descending else " < ") ~ "r." ~ k
                        ~ " then -1 when l." ~ k ~ (" < " if descending else " > ") ~ "r." ~ k ~ " then 1") -%}
{%- endfor -%}
transform(array_sort(collect_list(named_struct({{ fields | join(', ') }})){% if where %} filter (where {{ where }}){% endif %},
    (l, r) -> case {{ tests | join(' ') }} else 0 end), s -> s.v)
{%- endmacro %}

{#- A list's elements without repeats, each at its first position. -#}
{% macro distinct_in_order(list) -%}
{{ adapter.dispatch('distinct_in_order', 'cdp')(list) }}
{%- endmacro %}

{% macro default__distinct_in_order(list) -%}
list_filter({{ list }}, lambda p, i: list_position({{ list }}, p) = i)
{%- endmacro %}

{% macro spark__distinct_in_order(list) -%}
array_distinct({{ list }})
{%- endmacro %}

{#- Whole days from `start` to `end` (dates). -#}
{% macro days_between(start, end) -%}
{{ adapter.dispatch('days_between', 'cdp')(start, end) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
({{ end }} - {{ start }})
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
datediff({{ end }}, {{ start }})
{%- endmacro %}

{#- Every match of `pattern` in `expr` replaced. -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
{{ adapter.dispatch('regexp_replace_all', 'cdp')(expr, pattern, replacement) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- A bucket in [0, buckets) drawn from the SHA-256 of a string (its first 32 bits). -#}
{% macro hash_bucket(expr, buckets) -%}
{{ adapter.dispatch('hash_bucket', 'cdp')(expr, buckets) }}
{%- endmacro %}

{% macro default__hash_bucket(expr, buckets) -%}
(('0x' || left(sha256({{ expr }}), 8))::ubigint % {{ buckets }})
{%- endmacro %}

{% macro spark__hash_bucket(expr, buckets) -%}
(cast(conv(left(sha2({{ expr }}, 256), 8), 16, 10) as bigint) % {{ buckets }})
{%- endmacro %}

{#- The config of a table restated in place each night (incremental). Spark's Parquet tables
    cannot delete rows, so there it is rebuilt from its inputs (hooks that record what was
    loaded do not apply). -#}
{% macro restated_table(config_args) -%}
{%- if target.type == 'spark' -%}
{{ config(materialized='table', file_format='parquet', tags=config_args.get('tags', []), meta=config_args.get('meta', {})) }}
{%- else -%}
{{ config(**config_args) }}
{%- endif -%}
{%- endmacro %}

{#- The first delivery date with rows in the lake (a scalar subquery). -#}
{% macro lake_first_delivery() -%}
{{ adapter.dispatch('lake_first_delivery', 'cdp')() }}
{%- endmacro %}

{% macro default__lake_first_delivery() -%}
(select min(regexp_extract(file, 'delivery_date=([0-9-]+)', 1))::date
 from glob('{{ var("data_dir") }}/lake/*/*/delivery_date=*/*.parquet'))
{%- endmacro %}

{#- Spark cannot list files: the ingest log's fragments say which deliveries left rows in the lake. -#}
{% macro spark__lake_first_delivery() -%}
(select min(delivery_date) from parquet.`{{ var("data_dir") }}/lake/_ingest_log` where rows_in_lake > 0)
{%- endmacro %}

{#- A struct of named fields: `fields` maps each name to a SQL expression. -#}
{% macro struct_of(fields) -%}
{{ adapter.dispatch('struct_of', 'cdp')(fields) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
{ {%- for name, expr in fields.items() %}'{{ name }}': {{ expr }}{{ ", " if not loop.last }}{% endfor -%} }
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
named_struct({%- for name, expr in fields.items() %}'{{ name }}', {{ expr }}{{ ", " if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- The elements `element` of `list` for which `predicate` (over `element`) holds. -#}
{% macro list_filter(list, element, predicate) -%}
{{ adapter.dispatch('list_filter', 'cdp')(list, element, predicate) }}
{%- endmacro %}

{% macro default__list_filter(list, element, predicate) -%}
list_filter({{ list }}, lambda {{ element }}: {{ predicate }})
{%- endmacro %}

{% macro spark__list_filter(list, element, predicate) -%}
filter({{ list }}, {{ element }} -> {{ predicate }})
{%- endmacro %}

{#- `expr` (over `element`) for each element of `list`. -#}
{% macro list_transform(list, element, expr) -%}
{{ adapter.dispatch('list_transform', 'cdp')(list, element, expr) }}
{%- endmacro %}

{% macro default__list_transform(list, element, expr) -%}
list_transform({{ list }}, lambda {{ element }}: {{ expr }})
{%- endmacro %}

{% macro spark__list_transform(list, element, expr) -%}
transform({{ list }}, {{ element }} -> {{ expr }})
{%- endmacro %}

{#- Seconds (with their fraction) from timestamp `start` to timestamp `end`. -#}
{% macro seconds_between(start, end) -%}
{{ adapter.dispatch('seconds_between', 'cdp')(start, end) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
epoch({{ end }} - {{ start }})
{%- endmacro %}

{% macro spark__seconds_between(start, end) -%}
((unix_micros(cast({{ end }} as timestamp)) - unix_micros(cast({{ start }} as timestamp))) / 1e6)
{%- endmacro %}

{#- Calendar months from the month of date `start` to the month of date `end`. -#}
{% macro months_between(start, end) -%}
((year({{ end }}) - year({{ start }})) * 12 + month({{ end }}) - month({{ start }}))
{%- endmacro %}

{#- One row per integer 0 .. n - 1 (a set-returning expression in a select list). -#}
{% macro unnest_range(n) -%}
{{ adapter.dispatch('unnest_range', 'cdp')(n) }}
{%- endmacro %}

{% macro default__unnest_range(n) -%}
unnest(range({{ n }}))
{%- endmacro %}

{% macro spark__unnest_range(n) -%}
explode(sequence(0, {{ n }} - 1))
{%- endmacro %}

{#- A wall-clock timestamp of time zone `tz` (a SQL string literal) as UTC. -#}
{% macro local_to_utc(ts, tz) -%}
{{ adapter.dispatch('local_to_utc', 'cdp')(ts, tz) }}
{%- endmacro %}

{% macro default__local_to_utc(ts, tz) -%}
timezone('UTC', timezone({{ tz }}, {{ ts }}))
{%- endmacro %}

{% macro spark__local_to_utc(ts, tz) -%}
to_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}

{#- The sort key of a row over `keys`, as one comparable value: the minimum or maximum of it over
    rows is the key `arg_min`/`arg_max` over the same keys would pick (a day's part of a first or
    last value keeps it, and the days then compare by it). -#}
{% macro order_key(keys) -%}
{{ adapter.dispatch('order_key', 'cdp')([keys] if keys is string else keys) }}
{%- endmacro %}

{% macro default__order_key(keys) -%}
{%- if keys | length == 1 -%}{{ keys[0] }}{%- else -%}({{ keys | join(', ') }}){%- endif -%}
{%- endmacro %}

{#- Spark sorts a NULL struct field below any value: each field comes after whether it is NULL. -#}
{% macro spark__order_key(keys) -%}
{%- if keys | length == 1 -%}
{{ keys[0] }}
{%- else -%}
{%- set fields = [] -%}
{%- for key in keys -%}
    {%- do fields.append("'n" ~ loop.index ~ "', (" ~ key ~ ") is null, 'v" ~ loop.index ~ "', (" ~ key ~ ")") -%}
{%- endfor -%}
named_struct({{ fields | join(', ') }})
{%- endif -%}
{%- endmacro %}
