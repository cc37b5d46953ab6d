{{ restated_by_customer_and_node(kept_rows='identifier_count is not null') }}
-- depends_on: {{ ref('events') }}
-- The golden record: one row per resolved person. Survivorship, per attribute:
--   demographics (gender, birth date, city) and tier: the CRM when the customer is a member and
--     the CRM has a value, otherwise the most recent non-null value any source sent
--     (app/web identify traits);
--   consent per channel: the latest CRM snapshot only; no CRM record means no consent.
-- A night derives again only the customers it may have changed (macros/customer_days.sql), else
-- everyone.
{%- set nodes = logged_nodes() %}
{%- set days = logged_customer_days() %}
{%- set restated = nodes is not none and days is not none %}
with
{%- if restated %}
restated_customers as (
    -- those holding an identifier the graph derived again (a cluster is derived whole: a
    -- customer who lost an identifier to another still holds a logged one)
    select customer_id from {{ ref('identity_resolution') }} where node_id in ({{ nodes }})
    union
    -- those gone (merged into another, or every identifier stopped resolving)
    select customer_id from {{ this }} anti join {{ ref('identity_resolution') }} using (customer_id)
    union
    -- those whose events changed (the traits an identify event sends, and its customer)
    select customer_id from ({{ days }})
    union
    -- members: the CRM sends its snapshot every night
    select customer_id from {{ ref('identity_resolution') }} where id_type = 'member_id'
),
{%- endif %}

identifiers as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        {{ arg_min('id_value', ['first_seen_at', 'id_value']) }} filter (where id_type = 'member_id') as member_id,
        count(*) as identifier_count,
        {{ sorted_set_union_agg('sources') }} as sources
    from {{ ref('identity_resolution') }}
    {%- if restated %}
    where customer_id in (select customer_id from restated_customers)
    {%- endif %}
    group by customer_id
),

traits_sent as (
    select
        rc.customer_id,
        {{ arg_max(gender('e.gender'), ['e.occurred_at', 'e.record_id']) }} filter (where {{ gender('e.gender') }} is not null) as gender,
        {{ arg_max('e.birth_date', ['e.occurred_at', 'e.record_id']) }} filter (where e.birth_date is not null) as birth_date,
        {{ arg_max('e.city', ['e.occurred_at', 'e.record_id']) }} filter (where e.city is not null) as city
    from (
        select source, record_id, gender, birth_date, city, occurred_at from {{ ref('stg_app__events') }}
        where type = 'identify'
        union all
        select source, record_id, gender, birth_date, city, occurred_at from {{ ref('stg_web__events') }}
        where type = 'identify'
    ) e
    join {{ ref('record_customers') }} rc using (source, record_id)
    {%- if restated %}
    where rc.customer_id in (select customer_id from restated_customers)
    {%- endif %}
    group by rc.customer_id
),

golden as (
    select
        i.customer_id,
        i.first_seen_at,
        i.last_seen_at,
        i.member_id,
        coalesce({{ gender('m.gender') }}, t.gender) as gender,
        coalesce(m.birth_date, t.birth_date) as birth_date,
        coalesce(m.city, t.city) as city,
        m.province,
        m.tier,
        m.register_channel,
        m.registered_at,
        coalesce(m.consent_sms, false) as consent_sms,
        coalesce(m.consent_email, false) as consent_email,
        coalesce(m.consent_wechat, false) as consent_wechat,
        m.member_id is not null as is_member,
        i.identifier_count,
        i.sources
    from identifiers i
    left join {{ ref('stg_crm__members') }} m on m.member_id = i.member_id
    left join traits_sent t on t.customer_id = i.customer_id
)

select * from golden
{%- if is_incremental() %}
-- a row without identifiers for each restated customer gone: the strategy deletes their row
union all by name
select customer_id from {{ 'restated_customers' if restated else this }} anti join golden using (customer_id)
{%- endif %}
