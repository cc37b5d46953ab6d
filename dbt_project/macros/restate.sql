{#- Tables derived record by record from the staging tables (`events`) are restated, not rebuilt:
    a night deletes and derives again only the records it may have changed, and a full refresh
    derives them all. A record is restated when
      - its source loads by delivery and its delivery is at or after the first delivery of that
        source whose version differs from the one the table loaded (new, re-ingested, gone),
        exactly as the staging tables reload them;
      - its delivery was only rewritten by erasure since, and the source's staging table no
        longer holds it (erased: deleted, nothing derived again);
      - its source is mutable (an order changes status, the CRM is a snapshot): such sources are
        small and restated every night;
      - identity resolution moved it to another customer;
      - or the table's inputs changed (its code, its seeds, the vars it reads): then all are.
    The model's config names them: meta.restate = {by_delivery: [...], mutable: [...],
    seeds: [...], vars: [...]}; the strategy `restate_records` and the model read the same
    predicate, so what is deleted is what is derived again. -#}

{#- The config of a table restated by record: the sources whose records only arrive (restated
    from the first changed delivery) and those whose records change after delivery (an order's
    status, a till refund, the CRM snapshot, tickets: restated every night), plus the seeds and
    vars the table reads. -#}
{#- `log_customer_days`: the table has customer_id and business_date, and tables derived per
    customer-day read which of them changed (macros/customer_days.sql). -#}
{#- `reads_moved_records`: the table holds each record's customer, and reads the records
    `record_customers` moved (macros/moved_records.sql) instead of comparing them all. -#}
{#- `log_nodes`: the table holds identifier sightings, and the identity graph reads the nodes of
    the records whose sightings changed (macros/restated_nodes.sql). -#}
{% macro restated_by_record(seeds=[], vars=[], log_customer_days=false, reads_moved_records=false, log_nodes=false) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_records',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'pre_hook': ["{{ log_rebuilt_customer_days() }}" if log_customer_days else "",
                               "{{ log_rebuilt_nodes() }}" if log_nodes else "",
                               "{{ keep_erased_records() }}"] | select | list,
                  'post_hook': "{{ record_restated_loads() }}",
                  'meta': {'restate': {'by_delivery': by_delivery_sources(),
                                       'mutable': mutable_sources(), 'seeds': seeds, 'vars': vars,
                                       'log_customer_days': log_customer_days,
                                       'reads_moved_records': reads_moved_records,
                                       'log_nodes': log_nodes}}}) }}
{%- endmacro %}

{% macro by_delivery_sources() -%}
{{ return(['app', 'web', 'miniprogram', 'official_account', 'live', 'guide', 'ads']) }}
{%- endmacro %}

{% macro mutable_sources() -%}
{{ return(['mall_orders', 'pos', 'crm', 'service']) }}
{%- endmacro %}

{%- macro restate_config() -%}
{%- set nothing = {'by_delivery': [], 'mutable': [], 'seeds': [], 'vars': []} -%}
{%- if not execute -%}{{ return(nothing) }}{%- endif -%}
{{ return(config.get('meta').get('restate', nothing)) }}
{%- endmacro %}

{#- A digest of what the table's rows are derived with, besides the records themselves. -#}
{% macro inputs_version() -%}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- set restate = restate_config() -%}
{%- set parts = [model.raw_code] -%}
{%- for name in restate.get('vars', []) -%}{%- do parts.append(name ~ '=' ~ var(name)) -%}{%- endfor -%}
{%- for seed in restate.get('seeds', []) -%}
    {%- set digest = run_query("select md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), '')) from "
                               ~ ref(seed) ~ " t") -%}
    {%- do parts.append(seed ~ ':' ~ digest.columns[0].values()[0]) -%}
{%- endfor -%}
{{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}

{#- The records to restate tonight, as a predicate over `source` and `delivery_date`
    (prefixed by `alias`); `true` on a first build, a full refresh or changed inputs. -#}
{% macro restated_records(alias='') -%}
{%- if not execute or not is_incremental() -%}{{ return('true') }}{%- endif -%}
{%- set restate = restate_config() -%}
{%- set stored = run_query("select version from " ~ this.schema ~ ".delivery_loads where model = '"
                           ~ this.identifier ~ "' and source = 'inputs'") -%}
{%- if stored.rows | length == 0 or stored.columns[0].values()[0] != inputs_version() -%}
    {{ return('true') }}
{%- endif -%}
{%- set terms = [alias ~ "source in ('" ~ restate['mutable'] | join("', '") ~ "')"] -%}
{%- set erased = [] -%}
{%- for source in restate['by_delivery'] -%}
    {%- do terms.append("(" ~ alias ~ "source = '" ~ source ~ "' and " ~ alias ~ "delivery_date >= "
                        ~ first_changed_delivery(source) ~ ")") -%}
    {%- if erased_deliveries(source) -%}{%- do erased.append(source) -%}{%- endif -%}
{%- endfor -%}
{%- if erased -%}
    {#- records of deliveries erasure rewrote that their staging table no longer holds -#}
    {%- do terms.append("(" ~ alias ~ "source, " ~ alias ~ "record_id) in (select source, record_id from "
                        ~ erased_records_table() ~ ")") -%}
{%- endif -%}
{{ return('(' ~ terms | join(' or ') ~ ')') }}
{%- endmacro %}

{#- The stored records of deliveries erasure rewrote since this table loaded them that their
    staging table no longer holds (erased), as temp table `<table>__erased_records`: found once,
    before the table is derived (pre-hook), and read by `restated_records` in each statement that
    derives, logs and deletes. Written out in each of them, that comparison of the deliveries'
    stored records with staging ran three times a table (the derivation, the change log and the
    delete) and eleven in `identity_occurrences` (one per staging table): the restated records'
    predicate cost 1.6 s against 0.5 s without it on `events` at 10 M events, the short list
    0.8 s. Kept in the build's connection only, never in the warehouse. -#}
{% macro keep_erased_records() -%}
{%- if target.type == 'spark' or not is_incremental() -%}{{ return('') }}{%- endif -%}
create or replace temp table {{ erased_records_table() }} as
select source, record_id from {{ this }} where false
{%- for source in restate_config()['by_delivery'] %}
{%- set erased = erased_deliveries(source) %}
{%- if erased %}
union
select s.source, s.record_id from {{ this }} s
where s.source = '{{ source }}' and s.delivery_date in ({{ erased }})
  and not exists (select 1 from {{ staging_table(source) }} k
                  where k.delivery_date in ({{ erased }}) and k.record_id = s.record_id
                    and k.delivery_date = s.delivery_date)
{%- endif %}
{%- endfor %}
{%- endmacro %}

{% macro erased_records_table() -%}
{{ this.identifier }}__erased_records
{%- endmacro %}

{#- What the table loaded: each by-delivery source's delivery versions and the inputs' digest. -#}
{% macro record_restated_loads() -%}
{{ record_loaded_deliveries(restate_config()['by_delivery']) }}
insert into {{ this.schema }}.delivery_loads (model, source, delivery_date, version, as_of_date)
values ('{{ this.identifier }}', 'inputs', null, '{{ inputs_version() }}', {{ as_of_date() }})
{%- if restate_config().get('reads_moved_records') -%};
insert into {{ this.schema }}.delivery_loads (model, source, delivery_date, version, as_of_date)
{{ log_read_row(moved_records_log(), 'record_customers', 'moved_records') }}
{%- endif %}
{%- if restate_config().get('reads_nodes') -%};
insert into {{ this.schema }}.delivery_loads (model, source, delivery_date, version, as_of_date)
{{ log_read_row(nodes_log(), config.get('meta')['nodes_of'], 'nodes') }}
{%- endif %}
{%- endmacro %}

{#- Incremental strategy: delete the restated records (and any record derived again tonight),
    then insert what was derived. -#}
{% macro get_incremental_restate_records_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
{%- set restated = restated_records() -%}
{%- set deleted = restated ~ " or (source, record_id) in (select source, record_id from " ~ arg_dict["temp_relation"] ~ ")" -%}
{%- if restate_config().get('log_customer_days') %}
{{ log_restated_customer_days(target, deleted, arg_dict["temp_relation"], columns, restated == 'true') }}
{%- endif %}
{%- if restate_config().get('log_nodes') %}
{{ log_restated_nodes(target, deleted, arg_dict["temp_relation"], restated == 'true') }}
{%- endif %}
delete from {{ target }}
where {{ deleted }};
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ arg_dict["temp_relation"] }}
{%- endmacro %}
