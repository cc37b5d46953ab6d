{#- Records that identity resolution moved to another customer. `record_customers` is restated by
    record: a night derives again the records of the deliveries it loaded (and of the mutable
    sources) and the records holding an identifier whose customer changed since its last build:
    among the nodes `identity_resolution` logged as derived again (macros/restated_nodes.sql),
    those whose customer differs from the one `record_customers_identifiers` kept (new, gone or
    moved). Its restate strategy logs the records whose customer changed in `moved_records`
    (a change log: macros/change_logs.sql), and `events` derives again the records logged since
    it last read the log instead of comparing every stored event's customer with
    `record_customers` (10 M with 10 M records at 10 M events, 5 s a night).
    The log holds record ids: an erasure takes them out (pipelines/lib/privacy/history.py). -#}

{% macro moved_records_log() -%}
{{ this.schema }}.moved_records
{%- endmacro %}

{% macro record_customers_identifiers() -%}
{{ this.schema }}.record_customers_identifiers
{%- endmacro %}

{#- The config of `record_customers`: restated by record like `events` (macros/restate.sql), and
    also whenever an identifier's customer changed (the model selects those records itself, from
    the nodes `identity_resolution` logged). The identifiers' customers are kept before the read
    marker moves on: both read the same log entries. -#}
{% macro restated_record_customers(seeds=[]) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_record_customers',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'pre_hook': ["{{ log_rebuilt_moved_records() }}", "{{ keep_erased_records() }}"],
                  'post_hook': ["{{ keep_identifiers_read() }}", "{{ record_restated_loads() }}"],
                  'meta': {'nodes_of': 'identity_resolution',
                           'restate': {'by_delivery': by_delivery_sources(), 'mutable': mutable_sources(),
                                       'seeds': seeds, 'vars': [], 'reads_nodes': true}}}) }}
{%- endmacro %}

{#- A build that is not incremental rewrites every record: everything moved. -#}
{% macro log_rebuilt_moved_records() -%}
{%- if target.type != 'spark' and not is_incremental() -%}
{{ append_to_log(moved_records_log(), ['source', 'record_id']) }}
{%- endif -%}
{%- endmacro %}

{#- What the next build compares identity resolution with: each identifier's customer, by node
    (no clear values kept twice), taken again for the nodes read from the log (all when it
    cannot say). -#}
{% macro keep_identifiers_read() -%}
{%- if target.type == 'spark' %}{{ return('') }}{% endif -%}
{%- set logged = logged_nodes() -%}
{%- if logged is none or adapter.get_relation(this.database, this.schema, 'record_customers_identifiers') is none %}
create or replace table {{ record_customers_identifiers() }} as
select node_id, customer_id from {{ ref('identity_resolution') }}
{%- else %}
delete from {{ record_customers_identifiers() }} where node_id in ({{ logged }});
insert into {{ record_customers_identifiers() }} (node_id, customer_id)
select node_id, customer_id from {{ ref('identity_resolution') }} where node_id in ({{ logged }})
{%- endif %}
{%- endmacro %}

{#- Incremental strategy of `record_customers`: its derived rows hold every record it looked at,
    with a null customer when none of the record's identifiers resolves any more. Delete the
    restated records and those, log the records whose customer changed (absent: anonymous), and
    insert the rows with a customer. -#}
{% macro get_incremental_restate_record_customers_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set derived = arg_dict["temp_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
{%- set restated = restated_records() -%}
{%- set deleted = restated ~ " or (source, record_id) in (select source, record_id from " ~ derived ~ ")" -%}
{%- if restated == 'true' %}
{{ append_to_log(moved_records_log(), ['source', 'record_id']) }}
{%- else %}
{{ append_to_log(moved_records_log(), ['source', 'record_id'],
    "select coalesce(o.source, n.source) as source, coalesce(o.record_id, n.record_id) as record_id
     from (select source, record_id, customer_id from " ~ target ~ " where " ~ deleted ~ ") o
     full join (select source, record_id, customer_id from " ~ derived ~ " where customer_id is not null) n
         on n.source = o.source and n.record_id = o.record_id
     where o.customer_id is distinct from n.customer_id") }}
{%- endif %}
delete from {{ target }}
where {{ deleted }};
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ derived }} where customer_id is not null
{%- endmacro %}

{#- Consumer (`events`): the records `record_customers` logged as moved since this table last read
    the log, as a query of (source, record_id); none when the log cannot say. -#}
{% macro logged_moved_records() -%}
{{ return(logged_since(moved_records_log(), 'record_customers', 'moved_records', ['source', 'record_id'])) }}
{%- endmacro %}
