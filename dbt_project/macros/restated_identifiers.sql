{#- Identifiers whose sightings changed. `identity_occurrences` is restated by record; its restate
    strategy logs in `restated_identifiers` (a change log: macros/change_logs.sql) every identifier
    of the records whose sightings changed (taken out and not put back the same, or added), and
    `identity_identifiers` derives again only those identifiers (their first and last sighting,
    sources, degree and status depend only on their own sightings and on the records carrying them)
    instead of aggregating 16 M sightings at 10 M events.
    The log holds identifier values: an erasure marks it "everything" (pipelines/lib/privacy/history.py). -#}

{% macro identifiers_log() -%}
{{ this.schema }}.restated_identifiers
{%- endmacro %}

{#- Producer: a pre-hook of the restated table; a build that is not incremental rewrites every row. -#}
{% macro log_rebuilt_identifiers() -%}
{%- if target.type != 'spark' and not is_incremental() -%}{{ append_to_log(identifiers_log(), ['id_type', 'id_value']) }}{%- endif -%}
{%- endmacro %}

{#- Producer: inside the restate strategy, before its delete: every identifier of the records whose
    sightings changed, before and after (a record that gains a phone changes the degree of the
    identifiers it already carried). Rows compare by record and a hash of the columns
    `identity_identifiers` reads (not the delivery date: the CRM's snapshot of an unchanged
    member is no change). -#}
{% macro log_restated_identifiers(target, deleted, derived, everything) -%}
{%- if everything -%}
{{ append_to_log(identifiers_log(), ['id_type', 'id_value']) }}
{%- else -%}
{#- only what `identity_identifiers` reads: a CRM member's sightings carry tonight's snapshot date -#}
{%- set kept = "source, record_id, id_type, id_value, hash(source, record_id, id_type, id_value, seen_at) as h" -%}
{{ append_to_log(identifiers_log(), ['id_type', 'id_value'],
    "with old as (select " ~ kept ~ " from " ~ target ~ " where " ~ deleted ~ "),
    new as (select " ~ kept ~ " from " ~ derived ~ "),
    changed as (
        select source, record_id from old anti join new using (source, record_id, h)
        union
        select source, record_id from new anti join old using (source, record_id, h)
    )
    select id_type, id_value from old semi join changed using (source, record_id)
    union
    select id_type, id_value from new semi join changed using (source, record_id)") }}
{%- endif -%}
{%- endmacro %}

{#- Consumer: the config of `identity_identifiers`, restated identifier by identifier from the
    identifiers `identity_occurrences` logged. A change of one of `seeds` restates everything. -#}
{% macro restated_by_identifier(seeds=[]) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_identifiers',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'post_hook': "{{ record_read_identifiers() }}",
                  'meta': {'restate': {'seeds': seeds}}}) }}
{%- endmacro %}

{#- The identifiers logged since this table last read the log, as a query of (id_type, id_value);
    none when everything is to be derived again. -#}
{% macro logged_identifiers() -%}
{{ return(logged_since(identifiers_log(), 'identity_occurrences', 'identifiers', ['id_type', 'id_value'])) }}
{%- endmacro %}

{% macro record_read_identifiers() -%}
delete from {{ this.schema }}.delivery_loads where model = '{{ this.identifier }}';
insert into {{ this.schema }}.delivery_loads (model, source, delivery_date, version, as_of_date)
select '{{ this.identifier }}', 'inputs', null, '{{ inputs_version() }}', {{ as_of_date() }}
union all
{{ log_read_row(identifiers_log(), 'identity_occurrences', 'identifiers') }}
{%- endmacro %}

{#- Incremental strategy: delete the logged identifiers (all when the log cannot say), insert
    what was derived (an identifier no longer seen anywhere is not). -#}
{% macro get_incremental_restate_identifiers_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
{%- set logged = logged_identifiers() -%}
delete from {{ target }}
{%- if logged is not none %} where (id_type, id_value) in ({{ logged }}){% endif %};
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ arg_dict["temp_relation"] }}
{%- endmacro %}
