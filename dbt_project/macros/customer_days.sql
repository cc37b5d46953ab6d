{#- Tables derived per customer and business day from a restated table (the traits' daily parts,
    from `events`) are restated, not rebuilt: a night derives again only the customer-days whose
    rows changed.

    The restated table logs them in `restated_customer_days` (a change log: macros/change_logs.sql)
    as its restate strategy deletes and inserts records: the customer-days of the rows it took out
    and did not put back the same (a record moved to another customer, re-delivered or erased
    leaves its old customer-day) and of the rows it wrote anew (a mutable source's unchanged order
    is no change); a rebuild of the whole table logs "everything".

    A table derived from it restates the customer-days logged since it last read the log (marker
    `customer_days`). A table whose rows may depend on all of a customer's rows
    (`customer_touchpoints`) restates the logged customers whole (`restated_by_customer`); one
    restated by a digest of each customer's inputs (`attribution_by_path`) needs no log
    (`restated_by_customer_digest`); `customers` reads this log and the identity graph's
    (`restated_by_customer_and_node`). Each of these per-customer tables logs the customers whose
    rows it changed (`restated_customers`), for the analyst snapshot. -#}

{% macro customer_days_log() -%}
{{ this.schema }}.restated_customer_days
{%- endmacro %}

{#- Producer: a pre-hook of a table restated by record that logs its customer-days. A build that
    is not incremental rewrites every row. -#}
{% macro log_rebuilt_customer_days() -%}
{%- if not is_incremental() -%}{{ log_customer_days() }}{%- endif -%}
{%- endmacro %}

{#- Producer: inside the restate strategy, before its delete (macros/change_logs.sql). -#}
{% macro log_restated_customer_days(target, deleted, derived, columns, everything) -%}
{{ log_changed_rows(customer_days_log(), ['customer_id', 'business_date'], target, deleted, derived, columns, everything) }}
{%- endmacro %}

{#- Log the customer-days `days` selects (customer_id, business_date); by default everything. -#}
{% macro log_customer_days(days=none) -%}
{{ append_to_log(customer_days_log(), ['customer_id', 'business_date'], days) }}
{%- endmacro %}

{#- Consumer: the config of a table derived per customer-day from `parent`, restated by the log.
    Its day column is `day_column`; a row of day D may depend on the customer's rows of `parent`
    up to `days_after` days later (a funnel entry on its next steps), so a changed customer-day
    restates the rows of the `days_after` days before it too. A change of one of `vars` (part of
    its code's digest) restates everything. -#}
{% macro restated_by_customer_day(parent, day_column='business_date', days_after=0, vars=[]) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_customer_days',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'post_hook': "{{ record_read_customer_days() }}",
                  'meta': {'customer_days_of': parent, 'day_column': day_column, 'days_after': days_after,
                           'restate': {'vars': vars}}}) }}
{%- endmacro %}

{#- Consumer: the config of a table derived per customer from `parent` (any of a customer's rows
    may depend on all of their rows of `parent`), restated whole customer by whole customer: the
    model selects the customers to derive again (`logged_customer_days` and whatever else it
    depends on) and gives each of them at least one row, so that the strategy takes out their old
    rows; a derived row failing `kept_rows` stands for a customer with nothing left (deleted, none
    inserted). A change of one of `seeds` or `vars` restates everything. `audited`: its rows equal
    a full refresh's, so the audit compares it (tag `incremental`); a table holding bookkeeping
    rows that differ from a full refresh's is compared through the view that publishes it. -#}
{% macro restated_by_customer(parent, seeds=[], vars=[], kept_rows='true', audited=false) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_customers',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'] if audited else [],
                  'pre_hook': "{{ log_rebuilt_customers() }}",
                  'post_hook': "{{ record_read_customer_days() }}",
                  'meta': {'customer_days_of': parent, 'kept_rows': kept_rows,
                           'restate': {'seeds': seeds, 'vars': vars}}}) }}
{%- endmacro %}

{#- (The analyst snapshot reads the log by the same rules: `logged_since` in
    pipelines/lib/warehouse/reuse.py.)
    The customer-days `parent` logged since this table last read its log, as a query of
    (customer_id, business_date); none when everything is to be derived again: on a first build,
    a full refresh, changed code, a rebuilt parent or a log that lost entries this table needed. -#}
{% macro logged_customer_days() -%}
{%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
{{ return(logged_since(customer_days_log(), config.get('meta')['customer_days_of'], 'customer_days',
                       ['customer_id', 'business_date'])) }}
{%- endmacro %}

{#- The customer-days to derive again tonight (`logged_customer_days`), as a predicate over
    `customer_id` and the table's day column (or `day_column`: the parent's, to select the rows
    to read), prefixed by `alias`; `true` when everything is. -#}
{% macro restated_customer_days(alias='', day_column=none) -%}
{%- set logged = logged_customer_days() -%}
{%- if logged is none -%}{{ return('true') }}{%- endif -%}
{%- set meta = config.get('meta') -%}
{%- set day_column = day_column or meta.get('day_column', 'business_date') -%}
{%- set days_after = meta.get('days_after', 0) | int -%}
{%- if days_after > 0 -%}
    {%- set logged = "select distinct l.customer_id, l.business_date - cast(d.n as integer) as business_date from ("
                     ~ logged ~ ") l cross join range(0, " ~ (days_after + 1) ~ ") as d(n)" -%}
{%- endif -%}
{{ return("(" ~ alias ~ "customer_id, " ~ alias ~ day_column ~ ") in (" ~ logged ~ ")") }}
{%- endmacro %}

{#- Consumer: what the table has read (its code's digest and the log's last sequence). -#}
{% macro record_read_customer_days() -%}
{{ record_logs_read([(customer_days_log(), config.get('meta')['customer_days_of'], 'customer_days')]) }}
{%- endmacro %}

{#- Incremental strategy of a consumer: delete the restated customer-days, insert what was derived. -#}
{% macro get_incremental_restate_customer_days_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
delete from {{ target }} where {{ restated_customer_days() }};
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ arg_dict["temp_relation"] }}
{%- endmacro %}

{#- A table restated per customer by a digest of the customer's inputs (`attribution_by_path`):
    each row holds its customer's `inputs_digest`; the model derives again the customers whose
    digest changed and gives a customer with no inputs left one row with a null digest. The
    strategy deletes the derived customers' rows and inserts the derived rows but those. -#}
{% macro restated_by_customer_digest() -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_customers',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'pre_hook': "{{ log_rebuilt_customers() }}"}) }}
{%- endmacro %}

{#- Consumer of two logs: a table of one row per customer (`customers`) derived from the identity
    graph and `events`, restated for the customers holding a node `identity_resolution` logged and
    those of the customer-days `events` logged (and whatever else the model selects). A derived
    row failing `kept_rows` stands for a customer gone: their row is deleted, none inserted. -#}
{% macro restated_by_customer_and_node(kept_rows, seeds=[], vars=[]) -%}
{{ restated_table({'materialized': 'incremental', 'incremental_strategy': 'restate_customers',
                  'on_schema_change': 'sync_all_columns', 'tags': ['incremental'],
                  'pre_hook': "{{ log_rebuilt_customers() }}",
                  'post_hook': "{{ record_read_nodes_and_customer_days() }}",
                  'meta': {'nodes_of': 'identity_resolution', 'customer_days_of': 'events',
                           'kept_rows': kept_rows, 'restate': {'seeds': seeds, 'vars': vars}}}) }}
{%- endmacro %}

{% macro record_read_nodes_and_customer_days() -%}
{%- set meta = config.get('meta') -%}
{{ record_logs_read([(nodes_log(), meta['nodes_of'], 'nodes'),
                     (customer_days_log(), meta['customer_days_of'], 'customer_days')]) }}
{%- endmacro %}

{#- A table restated by customer logs the customers whose rows each build changed in
    `restated_customers` (macros/change_logs.sql), for the analyst snapshot, which copies those
    again (pipelines/lib/publish/snapshot.py); a build that is not incremental logs everything. -#}
{% macro customers_log() -%}
{{ this.schema }}.restated_customers
{%- endmacro %}

{% macro log_rebuilt_customers() -%}
{%- if not is_incremental() -%}{{ append_to_log(customers_log(), ['customer_id']) }}{%- endif -%}
{%- endmacro %}

{#- Incremental strategy of a table restated by customer: log the derived customers whose rows
    differ from their stored ones (a sum of row hashes per customer, so that a row set compares
    whatever its order and duplicates), delete their rows, insert those kept (by default, with a
    digest). -#}
{% macro get_incremental_restate_customers_sql(arg_dict) -%}
{%- set target = arg_dict["target_relation"] -%}
{%- set derived = arg_dict["temp_relation"] -%}
{%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
{%- set kept = (config.get('meta') or {}).get('kept_rows', 'inputs_digest is not null') -%}
{%- set rows = "select customer_id, sum(hash(" ~ columns ~ ")::hugeint) as h, count(*) as n from " -%}
{{ append_to_log(customers_log(), ['customer_id'],
    "select customer_id from (" ~ rows ~ target ~ " where customer_id in (select customer_id from " ~ derived ~ ")
     group by customer_id) s
    full join (" ~ rows ~ derived ~ " where " ~ kept ~ " group by customer_id) d using (customer_id)
    where s.h is distinct from d.h or s.n is distinct from d.n") }}
delete from {{ target }} where customer_id in (select customer_id from {{ derived }});
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ derived }}
where {{ kept }}
{%- endmacro %}
