{#- The identity graph restated where a night touches it, not rebuilt. Node ids are hashed from
    the identifier (`hashed_id`), so they are the same on every night and in every rebuild, and
    each step of the chain can say which nodes it derived again:

      identity_occurrences  logs the node of every identifier on a record whose sightings changed
                            (before and after: a record that gains a phone changes the degree of
                            the identifiers it already carried)
      identity_identifiers  derives those identifiers again (their sightings, and the records
                            carrying them for their degree); logs the same nodes
      identity_edges        derives again every link of those nodes; logs the same nodes
      identity_components   derives again the components those nodes were in and those their
                            links reach now, whole; logs every node of them
      identity_clusters     derives again the components now holding a logged node, whole; logs
                            every node of them
      identity_resolution   derives again the clusters now holding a logged node, whole; logs
                            every node of them (`record_customers` reads them: macros/moved_records.sql)

    The log `restated_nodes` is a change log (macros/change_logs.sql): each consumer reads what its
    parent logged since it last read it, and a parent rebuilt whole (first build, full refresh,
    changed code or seeds) logs "everything", which its consumer passes on. A node id is the
    first 60 bits of sha256(type:value): the erasure log keeps the whole hash of every erased
    identifier (pipelines/lib/privacy/erasure.py), so the log holds nothing an erasure must take out. -#}

{% macro nodes_log() -%}
{{ this.schema }}.restated_nodes
{%- endmacro %}

{#- Producer (`identity_occurrences`, inside its restate strategy, before the delete): the nodes of
    the records whose sightings changed. Rows compare by record and a hash of what the graph reads
    of a sighting (a CRM member's new snapshot with the same identifiers is no change). -#}
{% macro log_restated_nodes(target, deleted, derived, everything) -%}
{%- if everything -%}
{{ append_to_log(nodes_log(), ['node_id']) }}
{%- else -%}
{%- set kept = "source, record_id, node_id, hash(id_type, id_value, seen_at) as h" -%}
{{ append_to_log(nodes_log(), ['node_id'],
    "with old as (select " ~ kept ~ " from " ~ target ~ " where " ~ deleted ~ "),
    new as (select " ~ kept ~ " from " ~ derived ~ "),
    changed as (
        select source, record_id from old anti join new using (source, record_id, h)
        union
        select source, record_id from new anti join old using (source, record_id, h)
    )
    select node_id from old semi join changed using (source, record_id)
    union
    select node_id from new semi join changed using (source, record_id)") }}
{%- endif -%}
{%- endmacro %}

{#- Producer's pre-hook: a build that is not incremental rewrites every node. -#}
{% macro log_rebuilt_nodes() -%}
{%- if target.type != 'spark' and not is_incremental() -%}{{ append_to_log(nodes_log(), ['node_id']) }}{%- endif -%}
{%- endmacro %}

{#- Consumer: the config of a step of the chain restated by the nodes `parent` logged. Rows go
    by `node_columns` (an edge by either end); the model derives again at least the logged
    nodes still in the table, and logs what it derived for the next step. A change of its code
    or of one of `seeds` or `vars` derives everything. -#}
{% macro restated_by_node(parent, seeds=[], vars=[], node_columns=['node_id']) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_nodes',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'pre_hook': "{{ log_rebuilt_nodes() }}",
                  'post_hook': "{{ record_read_nodes() }}",
                  'meta': {'nodes_of': parent, 'node_columns': node_columns,
                           'restate': {'seeds': seeds, 'vars': vars}}}) }}
{%- endmacro %}

{#- The nodes `parent` logged since this table last read the log, as a query of node_id (it may
    repeat one); none when everything is to be derived again. -#}
{% macro logged_nodes() -%}
{%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
{{ return(logged_since(nodes_log(), config.get('meta')['nodes_of'], 'nodes', ['node_id'])) }}
{%- endmacro %}

{% macro record_read_nodes() -%}
{{ record_logs_read([(nodes_log(), config.get('meta')['nodes_of'], 'nodes')]) }}
{%- endmacro %}

{#- Incremental strategy: delete the rows of the logged nodes and of the nodes derived again (all
    rows when the log cannot say), log both for the next step, insert what was derived. -#}
{% macro get_incremental_restate_nodes_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set derived = arg_dict["temp_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
{%- set meta = config.get('meta') -%}
{%- set logged = logged_nodes() -%}
{%- if logged is none %}
{{ append_to_log(nodes_log(), ['node_id']) }}
delete from {{ target }};
{%- else %}
{%- set restated = logged if 'node_id' not in meta['node_columns']
                   else logged ~ " union select node_id from " ~ derived -%}
{{ append_to_log(nodes_log(), ['node_id'], restated) }}
delete from {{ target }}
where {% for column in meta['node_columns'] %}{{ column }} in ({{ restated }}){{ ' or ' if not loop.last }}{% endfor %};
{%- endif %}
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ derived }}
{%- endmacro %}
