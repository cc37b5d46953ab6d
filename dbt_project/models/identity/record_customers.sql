{{ restated_record_customers(seeds=['identity_id_types']) }}
-- depends_on: {{ ref('identity_id_types') }}, {{ ref('identity_identifiers') }}
-- The customer of every record that carries at least one linked identifier: the customer of its
-- strongest identifier (after a limit split, a record's identifiers can point at two customers;
-- the member id decides). Records absent here belong to the anonymous customer.
-- Strength is ranked per identifier (type priority, then value: unique) and the record keeps
-- the customer of its lowest rank: an integer key per sighting instead of a (priority, value)
-- pair makes the 16 M-sighting join and aggregate 2.4x faster at 10 M events.
-- A night derives again only the records it may have changed (macros/moved_records.sql): those
-- of the deliveries it loaded and of the mutable sources, and those holding an identifier whose
-- customer changed since the last build. A record whose identifiers all stopped resolving gets a
-- row without a customer, which the restate strategy deletes and does not keep.
{%- set whole = not is_incremental() or restated_records() == 'true'
    or adapter.get_relation(this.database, this.schema, 'record_customers_identifiers') is none %}
with
{%- if not whole %}
changed_identifiers as (
    select coalesce(r.id_key, s.id_key) as id_key
    from {{ ref('identity_resolution') }} r
    full join {{ record_customers_identifiers() }} s using (id_key)
    where r.customer_id is distinct from s.customer_id
),

-- the changed identifiers' values: those still resolving, and those that stopped (now blocked or
-- a hub; an identifier no longer seen at all left only restated records)
changed_values as (
    select r.id_type, r.id_value
    from {{ ref('identity_resolution') }} r
    semi join changed_identifiers c using (id_key)
    union all
    select i.id_type, i.id_value
    from {{ ref('identity_identifiers') }} i
    where i.status <> 'linked'
      and {{ sha256("i.id_type || ':' || i.id_value") }} in (select id_key from changed_identifiers)
),

restated as (
    select source, record_id from {{ ref('identity_occurrences') }} where {{ restated_records() }}
    union
    select o.source, o.record_id
    from {{ ref('identity_occurrences') }} o
    semi join changed_values c using (id_type, id_value)
),

sightings as (
    select o.* from {{ ref('identity_occurrences') }} o semi join restated using (source, record_id)
),
{%- else %}
sightings as (
    select * from {{ ref('identity_occurrences') }}
),
{%- endif %}

ranked as (
    select id_type, id_value, customer_id, row_number() over (order by priority, id_value) as strength
    from {{ ref('identity_resolution') }}
    {%- if not whole %}
    semi join (select distinct id_type, id_value from sightings) using (id_type, id_value)
    {%- endif %}
)

select
    o.source,
    o.record_id,
    max(o.delivery_date) as delivery_date,
    {{ arg_min('r.customer_id', 'r.strength') }} as customer_id
from sightings o
{{ 'join' if whole else 'left join' }} ranked r on r.id_type = o.id_type and r.id_value = o.id_value
group by o.source, o.record_id
