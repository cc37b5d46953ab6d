{#- Change logs: a restated table writes down, at each build, which keys it changed (the
    customer-days of `events` and the customers of the tables restated per customer:
    macros/customer_days.sql; the records `record_customers` moved to
    another customer: macros/moved_records.sql; the identity graph's nodes each step derived again:
    macros/restated_nodes.sql), so that the tables derived from it read those
    keys instead of comparing all of its rows with theirs.

    A log holds (model, seq, key columns...). Each logging build of a model gets the next
    sequence number; a build that rewrote the whole table logs one row whose first key is null:
    "everything". The last `keep_builds()` builds are kept. A reader remembers the last sequence
    it read in `delivery_loads` (its source: the log's name) and reads the builds logged since;
    everything when the log says the table was rebuilt whole, when entries it needed were pruned,
    or when the reader's own code changed (it derives everything then anyway). -#}

{% macro keep_builds() %}{{ return(7) }}{% endmacro %}

{#- The change logs and their keys, created before any model runs (on-run-start), like
    `delivery_loads`. DuckDB only: Spark rebuilds the tables that would read them. -#}
{% macro create_change_logs() -%}
{%- if target.type == 'spark' %}{{ return('') }}{% endif -%}
{%- set logs = {'restated_customer_days': 'customer_id varchar, business_date date',
                'restated_customers': 'customer_id varchar',
                'moved_records': 'source varchar, record_id varchar',
                'restated_nodes': 'node_id bigint'} -%}
{%- for name, keys in logs.items() %}
create table if not exists {{ target.schema }}.{{ name }} (model varchar, seq bigint, {{ keys }});
{%- endfor %}
{%- endmacro %}

{#- Log the rows `rows` selects (the log's `keys`) under the next sequence number; by default one
    row of nulls: everything. -#}
{% macro append_to_log(log, keys, rows=none) -%}
{%- if rows is none -%}
    {%- set nulls = [] -%}
    {%- for key in keys -%}{%- do nulls.append('null as ' ~ key) -%}{%- endfor -%}
    {%- set rows = 'select ' ~ nulls | join(', ') -%}
{%- endif -%}
insert into {{ log }} (model, seq, {{ keys | join(', ') }})
select '{{ this.identifier }}', s.seq{% for key in keys %}, d.{{ key }}{% endfor %}
from (select coalesce(max(seq), 0) + 1 as seq from {{ log }} where model = '{{ this.identifier }}') s,
     ({{ rows }}) d;
delete from {{ log }}
where model = '{{ this.identifier }}'
  and seq <= (select max(seq) from {{ log }} where model = '{{ this.identifier }}') - {{ keep_builds() }};
{%- endmacro %}

{#- Log the `keys` of the rows `deleted` (a predicate over `target`) takes out that `derived` (a
    relation) does not put back identical, and of the rows `derived` adds: everything when
    `everything`. Rows compare by record and a hash of every column (a full comparison of the
    columns cost 10.7 s at 1.6 M restated events, this 1.8 s). -#}
{% macro log_changed_rows(log, keys, target, deleted, derived, columns, everything) -%}
{%- if everything -%}
{{ append_to_log(log, keys) }}
{%- else -%}
{%- set kept = "source, record_id, " ~ keys | join(', ') ~ ", hash(" ~ columns ~ ") as h" -%}
{%- set picked = [] -%}{%- for key in keys -%}{%- do picked.append('d.' ~ key) -%}{%- endfor -%}
{{ append_to_log(log, keys,
    "with old as (select " ~ kept ~ " from " ~ target ~ " where " ~ deleted ~ "),
    new as (select " ~ kept ~ " from " ~ derived ~ ")
    select " ~ picked | join(', ') ~ " from old d
    anti join new n on n.source = d.source and n.record_id = d.record_id and n.h = d.h
    union
    select " ~ picked | join(', ') ~ " from new d
    anti join old o on d.source = o.source and d.record_id = o.record_id and d.h = o.h") }}
{%- endif -%}
{%- endmacro %}

{#- The keys `parent` logged since this table last read `log` (under the name `marker`), as a
    query of `keys`; none when everything is to be derived again (see above). -#}
{% macro logged_since(log, parent, marker, keys) -%}
{%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
{%- set stored = run_query("select source, version from " ~ this.schema ~ ".delivery_loads where model = '"
                           ~ this.identifier ~ "' and source in ('inputs', '" ~ marker ~ "')") -%}
{%- set versions = {} -%}
{%- for row in stored.rows -%}{%- do versions.update({row[0]: row[1]}) -%}{%- endfor -%}
{%- if versions.get('inputs') != inputs_version() or versions.get(marker) is none -%}
    {{ return(none) }}
{%- endif -%}
{%- set read = versions[marker] | int -%}
{#- pending "everything" rows, the first pending sequence, and the last one logged -#}
{%- set pending = run_query("select count(*) filter (where seq > " ~ read ~ " and " ~ keys[0] ~ " is null), "
                            ~ "coalesce(min(seq) filter (where seq > " ~ read ~ "), 0), coalesce(max(seq), 0) from "
                            ~ log ~ " where model = '" ~ parent ~ "'") -%}
{%- set everything, first, last = pending.rows[0] -%}
{%- if everything > 0 or (first > 0 and first > read + 1) or last < read -%}{{ return(none) }}{%- endif -%}
{{ return("select " ~ keys | join(', ') ~ " from " ~ log ~ " where model = '" ~ parent ~ "' and seq > " ~ read) }}
{%- endmacro %}

{#- The `delivery_loads` row saying how far this table has read `parent`'s entries in `log`, as a
    select (its caller deletes the table's rows first). -#}
{% macro log_read_row(log, parent, marker) -%}
select '{{ this.identifier }}', '{{ marker }}', null, cast(coalesce(max(seq), 0) as varchar), {{ as_of_date() }}
from {{ log }} where model = '{{ parent }}'
{%- endmacro %}

{#- A reader's post-hook: what it has read (its code's digest, and for each (log, parent, marker)
    of `reads` how far it read `parent`'s entries in `log`, under `marker`), in place of its
    earlier rows of `delivery_loads`. -#}
{% macro record_logs_read(reads) -%}
delete from {{ this.schema }}.delivery_loads where model = '{{ this.identifier }}';
insert into {{ this.schema }}.delivery_loads (model, source, delivery_date, version, as_of_date)
select '{{ this.identifier }}', 'inputs', null, '{{ inputs_version() }}', {{ as_of_date() }}
{%- for log, parent, marker in reads %}
union all
{{ log_read_row(log, parent, marker) }}
{%- endfor %}
{%- endmacro %}
