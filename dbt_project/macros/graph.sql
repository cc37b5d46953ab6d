{#- The identity graph's two fixpoints (`identity_components`, `identity_clusters`). DuckDB runs
    each as one recursive query (`using key` keeps one row per node, so memory stays at one row
    per identifier). Spark has no recursion of this shape (an aggregate over the recursive
    reference): there each round is a table, written until a round changes no label. Both reach
    the same fixpoint, which is unique: the smallest node id of each component, and the smallest
    (distance, -records of the last link, seed rank) label per node. -#}

{#- Connected components by label propagation: every node of `arcs` (node_from, node_to; both
    directions) starts with the smallest node id among itself and its neighbours, then takes its
    neighbours' labels while they are smaller. Rows: node_id, component_id. -#}
{% macro connected_components(arcs) -%}
{{ adapter.dispatch('connected_components', 'cdp')(arcs) }}
{%- endmacro %}

{% macro default__connected_components(arcs) -%}
with recursive
arcs as ({{ arcs }}),

-- each round, only the nodes whose label just dropped push it to their neighbours
labels (node_id, component_id) using key (node_id) as (
    select node_from, least(node_from, min(node_to)) from arcs group by node_from
    union
    (
        select a.node_to, min(l.component_id)
        from labels l
        join arcs a on a.node_from = l.node_id
        join recurring.labels r on r.node_id = a.node_to
        group by a.node_to
        having min(l.component_id) < min(r.component_id)
    )
)

select node_id, component_id from labels
{%- endmacro %}

{% macro spark__connected_components(arcs) -%}
{%- set arcs_table = spark_work_table('arcs', arcs) -%}
{%- set labels = spark_fixpoint(
    "select node_from as node_id, least(node_from, min(node_to)) as component_id from " ~ arcs_table
    ~ " group by node_from",
    "select l.node_id, least(l.component_id, min(n.component_id)) as component_id from {labels} l"
    ~ " join " ~ arcs_table ~ " a on a.node_from = l.node_id join {labels} n on n.node_id = a.node_to"
    ~ " group by l.node_id, l.component_id") -%}
select node_id, component_id from {{ labels }}
{%- endmacro %}

{#- Multi-source breadth-first search from `seeds` (node_id, seed_rank) over `arcs` (node_from,
    node_to, records): a node's label is (distance to the seed, minus the records behind the
    last link, seed rank), smallest wins. `ctes` (a `with …` clause) defines what the two
    queries read. Rows: node_id, label (a struct of distance, weight, seed_rank). -#}
{% macro nearest_seed(ctes, seeds, arcs) -%}
{{ adapter.dispatch('nearest_seed', 'cdp')(ctes, seeds, arcs) }}
{%- endmacro %}

{#- DuckDB: one recursive query, which sees the model's own CTEs (`ctes` is not repeated). -#}
{% macro default__nearest_seed(ctes, seeds, arcs) -%}
with recursive
start as ({{ seeds }}),

arcs as ({{ arcs }}),

nearest (node_id, label) using key (node_id) as (
    select node_id, {'distance': 0, 'weight': 0, 'seed_rank': seed_rank} from start
    union
    (
        select a.node_to,
            min({'distance': n.label.distance + 1, 'weight': -a.records, 'seed_rank': n.label.seed_rank})
        from nearest n
        join arcs a on a.node_from = n.node_id
        left join recurring.nearest r on r.node_id = a.node_to
        group by a.node_to
        having any_value(r.node_id) is null
            or min({'distance': n.label.distance + 1, 'weight': -a.records, 'seed_rank': n.label.seed_rank})
               < any_value(r.label)
    )
)

select node_id, label from nearest
{%- endmacro %}

{% macro spark__nearest_seed(ctes, seeds, arcs) -%}
{%- set seeds_table = spark_work_table('seeds', ctes ~ ' ' ~ seeds) -%}
{%- set arcs_table = spark_work_table('arcs', ctes ~ ' ' ~ arcs) -%}
{%- set labels = spark_fixpoint(
    "select node_id, named_struct('distance', 0, 'weight', 0, 'seed_rank', seed_rank) as label from " ~ seeds_table,
    "select coalesce(o.node_id, c.node_id) as node_id,"
    ~ " case when o.label is null or c.label < o.label then c.label else o.label end as label"
    ~ " from {labels} o full join (select a.node_to as node_id, min(named_struct('distance', n.label.distance + 1,"
    ~ " 'weight', -a.records, 'seed_rank', n.label.seed_rank)) as label from {labels} n join " ~ arcs_table
    ~ " a on a.node_from = n.node_id group by a.node_to) c on c.node_id = o.node_id") -%}
select node_id, label from {{ labels }}
{%- endmacro %}

{#- A working table of the model being built (`<model>__<name>`), written from `sql` now. -#}
{% macro spark_work_table(name, sql) -%}
{%- set table = this.schema ~ '.' ~ this.identifier ~ '__' ~ name -%}
{%- if execute -%}
    {%- do run_query('drop table if exists ' ~ table) -%}
    {%- do run_query('create table ' ~ table ~ ' using parquet as ' ~ sql) -%}
{%- endif -%}
{{ return(table) }}
{%- endmacro %}

{#- Rounds of `step` (a query over the previous round, `{labels}`: node_id and its label) from
    `initial` until a round changes nothing; returns the last round's table. -#}
{% macro spark_fixpoint(initial, step, max_rounds=10000) -%}
{%- set round = namespace(n=0, done=not execute) -%}
{%- set current = spark_work_table('round_0', initial) -%}
{%- for _ in range(max_rounds) if not round.done -%}
    {%- set previous = this.schema ~ '.' ~ this.identifier ~ '__round_' ~ round.n -%}
    {%- set round.n = round.n + 1 -%}
    {%- set current = spark_work_table('round_' ~ round.n, step | replace('{labels}', previous)) -%}
    {%- set changed = run_query('select count(*) from (select * from ' ~ current ~ ' except select * from '
                                ~ previous ~ ')').columns[0].values()[0] -%}
    {%- do run_query('drop table ' ~ previous) -%}
    {%- if changed == 0 -%}{%- set round.done = true -%}{%- endif -%}
{%- endfor -%}
{%- set fixpoint = this.schema ~ '.' ~ this.identifier ~ '__fixpoint' -%}
{%- if execute -%}
    {%- if not round.done -%}
        {{ exceptions.raise_compiler_error(this.identifier ~ ': no fixpoint after ' ~ max_rounds ~ ' rounds') }}
    {%- endif -%}
    {%- do run_query('drop table if exists ' ~ fixpoint) -%}
    {%- do run_query('alter table ' ~ this.schema ~ '.' ~ this.identifier ~ '__round_' ~ round.n ~ ' rename to ' ~ fixpoint) -%}
{%- endif -%}
{{ return(fixpoint) }}
{%- endmacro %}

{#- Post-hook of the models above: their working tables go once the model's table is written. -#}
{% macro drop_work_tables() -%}
{%- if target.type == 'spark' and execute -%}
{%- for name in ['arcs', 'seeds', 'fixpoint'] -%}
{%- do run_query('drop table if exists ' ~ this.schema ~ '.' ~ this.identifier ~ '__' ~ name) -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro %}
