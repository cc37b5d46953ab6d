{{ restated_by_record(seeds=['event_taxonomy', 'channel_mapping'], vars=['business_tz'], log_customer_days=true,
                      reads_moved_records=true) }}
-- The behaviour layer: every event of every source, typed, with its customer, business date,
-- canonical event type (seed `event_taxonomy`) and marketing channel and touchpoint (seed
-- `channel_mapping`). Events whose identifiers resolve to nobody (no identifier, or only junk
-- and hub ones) are kept under the `anonymous` customer.
-- A night derives only the records it may have changed (macros/restate.sql): an event depends
-- on its record, its record's customer and the seeds, never on other events.
with
{%- if is_incremental() %}
-- Stored records whose customer identity resolution changed since this table's last build: those
-- `record_customers` logged as moved, or, when its log cannot say, every stored record compared
-- with it (the mutable sources are restated every night anyway; a till order's customer does not
-- come from record_customers).
{%- set logged = logged_moved_records() %}
moved as (
    {%- if logged is not none %}
    select source, record_id from ({{ logged }})
    where source not in ('{{ mutable_sources() | join("', '") }}')
    {%- else %}
    select e.source, e.record_id
    from {{ this }} e
    left join {{ ref('record_customers') }} rc on rc.source = e.source and rc.record_id = e.record_id
    where e.source not in ('{{ mutable_sources() | join("', '") }}')
      and e.customer_id <> coalesce(rc.customer_id, 'anonymous')
    {%- endif %}
),
{%- endif %}

typed as (
    select
        u.*,
        coalesce(t.event_type, {{ regexp_replace_all('lower(trim(u.source_event))', "'[^a-z0-9]+'", "'_'") }})
            as event_type,
        t.event_type is not null as is_known_event_type
    from {{ ref('behaviour_unioned') }} u
    left join {{ ref('event_taxonomy') }} t
        on t.source = u.source and t.source_event = u.source_event
    {%- if is_incremental() %}
    where {{ restated_records('u.') }} or (u.source, u.record_id) in (select source, record_id from moved)
    {%- endif %}
),

-- Channels are mapped once per distinct combination of criteria, then joined back by equality.
channel_keys as (
    select distinct source, event_type, platform, scene, utm_source, utm_medium, referrer_domain
    from typed
),

channels as (
    select
        k.*,
        {{ arg_min('m.channel', 'm.priority') }} as channel,
        {{ arg_min('m.touchpoint', 'm.priority') }} as touchpoint
    from channel_keys k
    left join {{ ref('channel_mapping') }} m
        on (m.source is null or m.source = k.source)
        and (m.event_type is null or m.event_type = k.event_type)
        and (m.platform is null or m.platform = k.platform)
        and (m.scene is null or m.scene = k.scene)
        and (m.utm_source is null or m.utm_source = k.utm_source)
        and (m.utm_medium is null or m.utm_medium = k.utm_medium)
        and (m.referrer_domain is null or k.referrer_domain = m.referrer_domain
             or right(k.referrer_domain, length(m.referrer_domain) + 1) = '.' || m.referrer_domain)
    group by all
)

select
    t.event_id,
    coalesce(t.customer_id, rc.customer_id, 'anonymous') as customer_id,
    t.occurred_at,
    {{ business_date('t.occurred_at') }} as business_date,
    t.source,
    t.event_type,
    coalesce(c.channel, 'unknown') as channel,
    coalesce(c.touchpoint, 'unknown') as touchpoint,
    t.campaign_id,
    t.creative_id,
    t.product_id,
    t.category,
    t.amount,
    t.order_id,
    t.coupon_type,
    t.discount_rate,
    t.scene,
    t.room_id,
    t.article_id,
    t.guide_id,
    t.store_id,
    t.click_id,
    t.page_url,
    t.search_query,
    t.experiment_id,
    t.variant,
    t.platform,
    t.utm_source,
    t.utm_medium,
    t.referrer_domain,
    t.source_event,
    t.is_known_event_type,
    t.record_id,
    t.delivery_date
from typed t
{%- if is_incremental() %}
-- (the customers of tonight's records only: a hash table of every stored record's customer cost
-- a second a night at 10 M events)
left join (select source, record_id, customer_id from {{ ref('record_customers') }}
           semi join (select source, record_id from typed) using (source, record_id)) rc
{%- else %}
left join {{ ref('record_customers') }} rc
{%- endif %}
    on rc.source = t.source and rc.record_id = t.record_id
left join channels c
    on c.source = t.source and c.event_type = t.event_type
    and c.platform is not distinct from t.platform
    and c.scene is not distinct from t.scene
    and c.utm_source is not distinct from t.utm_source
    and c.utm_medium is not distinct from t.utm_medium
    and c.referrer_domain is not distinct from t.referrer_domain
