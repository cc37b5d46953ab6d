{{ restated_by_customer('events', seeds=['touch_modes'], vars=['touch_session_minutes']) }}
-- Each customer's marketing touches (the view `touchpoints` publishes them), restated per
-- customer (macros/customer_days.sql): a customer's touches depend only on that customer's
-- candidate events below, so a night derives again only the customers whose candidate events
-- may have changed, and keeps the others' touches. Those are the customers of the customer-days
-- `events` logged, and the customers whose events' click ids now fold or resolve otherwise (a
-- click id's first sighting, which another customer's event can move, and the ad log's campaign
-- and creative for it, which arrive with the ad platform's delivery, not the event's): a digest
-- of those per customer (`clicks_digest`) finds them without reading every event's inputs. A
-- restated customer left without a touch keeps one row without a touch (touch_id null), which
-- holds their digest or stands for the deletion of their touches.
--
-- Which events are touches, and click or view, comes from the seed `touch_modes`. A touch is
-- usually several events: every page of a visit from an ad carries the ad's tags, an
-- impression is followed by its click, an article's click-through opens the mini-program from
-- the article. So events of the same customer, channel, campaign and content (article, room or
-- guide) are one touch until `touch_session_minutes` pass without such an event; the touch
-- starts at its first event, takes that event's id, and is a click when any of its events is.
-- Events that carry the same click id are one touch whatever their clocks say (an ad log's
-- time and the landing page's can be hours apart): they are placed at the click id's first
-- sighting before the gap rule applies. A landing page that carries only the click id gets its
-- campaign and creative from the ad platform's click log, so the click, the impression just
-- before it and the visit it started are one touch.
-- A direct visit (is_direct) is a touch only when the customer had no touch at all in the
-- previous `touch_session_minutes`: browsing on after an ad or an article is part of that touch.
-- Anonymous events are left out: nobody can convert as `anonymous`.
{%- set gap = "interval '" ~ var('touch_session_minutes') ~ " minutes'" %}

with rule_keys as (
    select distinct touchpoint, source, event_type
    from {{ ref('events') }}
    where customer_id <> 'anonymous'
),

rules as (
    select
        k.*,
        {{ arg_min('m.touch_mode', 'm.priority') }} as touch_mode,
        {{ arg_min('m.is_direct', 'm.priority') }} as is_direct
    from rule_keys k
    join {{ ref('touch_modes') }} m
        on (m.touchpoint is null or m.touchpoint = k.touchpoint)
        and (m.source is null or m.source = k.source)
        and (m.event_type is null or m.event_type = k.event_type)
    group by all
),

ad_clicks as (
    select click_id, min(campaign_id) as campaign_id, min(creative_id) as creative_id
    from {{ ref('stg_ads__clicks') }}
    where click_id is not null
    group by click_id
),

{#- The candidate events: those the seed's rules name, each with its campaign and creative (the ad
    log's, for a landing page that carries only the click id), of known customers. Read twice:
    narrow, every event with a click id, and whole, only the customers derived tonight. #}
{%- set candidate_events %}
    from {{ ref('events') }} e
    join rules r on r.touchpoint = e.touchpoint and r.source = e.source and r.event_type = e.event_type
    left join ad_clicks a on a.click_id = e.click_id
{%- endset %}
{%- set known = "e.customer_id <> 'anonymous'" %}

click_events as (
    select e.customer_id, e.event_id, e.click_id, e.occurred_at,
        coalesce(e.campaign_id, a.campaign_id) as campaign_id,
        coalesce(e.creative_id, a.creative_id) as creative_id
    {{ candidate_events }}
    where {{ known }} and e.click_id is not null
),

-- A click id's first sighting, joined back (a window over click_id would put every event
-- without one into a single partition).
click_firsts as (
    select click_id, min(occurred_at) as first_at
    from click_events
    group by click_id
),

-- What the customer-days log cannot say: how each of the customer's events with a click id folds
-- and which campaign and creative the ad log gives it.
click_digests as (
    select c.customer_id, hash(bit_xor(hash(c.event_id, f.first_at, c.campaign_id, c.creative_id)), count(*))
        as clicks_digest
    from click_events c
    join click_firsts f using (click_id)
    group by c.customer_id
),

-- The customers derived tonight: all on a first build or when the log cannot say (then also those
-- stored, whose touches may all be gone); else the logged ones and those whose digest changed.
{%- set logged = logged_customer_days() %}
restated_customers as (
{%- if is_incremental() and logged is not none %}
    select customer_id from ({{ logged }}) where customer_id <> 'anonymous'
    union
    select coalesce(d.customer_id, s.customer_id)
    from click_digests d
    full join (select customer_id, any_value(clicks_digest) as clicks_digest from {{ this }} group by customer_id) s
        using (customer_id)
    where d.clicks_digest is distinct from s.clicks_digest
{%- else %}
    select distinct e.customer_id {{ candidate_events }} where {{ known }}
    {%- if is_incremental() %}
    union
    select customer_id from {{ this }}
    {%- endif %}
{%- endif %}
),

restated as (
    select r.customer_id, d.clicks_digest
    from restated_customers r
    left join click_digests d using (customer_id)
),

-- The candidate events of the customers derived tonight, placed at their click id's first sighting.
candidates as (
    select
        e.event_id,
        e.customer_id,
        e.occurred_at,
        e.business_date,
        e.source,
        e.channel,
        e.touchpoint,
        coalesce(e.campaign_id, a.campaign_id) as campaign_id,
        coalesce(e.creative_id, a.creative_id) as creative_id,
        e.article_id,
        e.room_id,
        e.guide_id,
        e.store_id,
        e.click_id,
        r.touch_mode,
        r.is_direct,
        concat_ws('|', e.channel, coalesce(e.campaign_id, a.campaign_id, ''),
                  coalesce(e.article_id, e.room_id, e.guide_id, '')) as touch_key,
        coalesce(f.first_at, e.occurred_at) as fold_at
    {{ candidate_events }}
    left join click_firsts f on f.click_id = e.click_id
    where {{ known }}
    {%- if is_incremental() %}
        and e.customer_id in (select customer_id from restated)
    {%- endif %}
),

-- Campaign touches: a new touch when the same key was quiet for the session gap.
-- Each candidate's place in the customer's time order (`ord`: an integer, so that a touch's first
-- event is an integer arg_min, not a (time, id) pair: 15 -> 9 CPU s at 10 M events) and the time
-- since their previous candidate event (direct visits).
ordered as (
    select
        *,
        row_number() over by_time as ord,
        occurred_at - lag(occurred_at) over by_time as since_previous
    from candidates
    window by_time as (partition by customer_id order by occurred_at, event_id)
),

campaign_events as (
    select
        *,
        coalesce(fold_at - lag(fold_at) over same_key > {{ gap }}, true) as starts_touch
    from ordered
    where not is_direct
    window same_key as (partition by customer_id, touch_key order by fold_at, occurred_at, event_id)
),

campaign_touches as (
    select
        *,
        sum(starts_touch::int) over (partition by customer_id, touch_key order by fold_at, occurred_at, event_id
                                     rows unbounded preceding) as touch_number
    from campaign_events
),

campaign_grouped as (
    select
        {{ arg_min('event_id', 'ord') }} as touch_id,
        customer_id,
        min(occurred_at) as touched_at,
        {{ arg_min('business_date', 'ord') }} as business_date,
        {{ arg_min('channel', 'ord') }} as channel,
        {{ arg_min('touchpoint', 'ord') }} as touchpoint,
        {{ arg_min('campaign_id', 'ord') }} as campaign_id,
        {{ arg_min('creative_id', 'ord') }} filter (where creative_id is not null) as creative_id,
        {{ arg_min('article_id', 'ord') }} filter (where article_id is not null) as article_id,
        {{ arg_min('room_id', 'ord') }} filter (where room_id is not null) as room_id,
        {{ arg_min('guide_id', 'ord') }} filter (where guide_id is not null) as guide_id,
        {{ arg_min('store_id', 'ord') }} filter (where store_id is not null) as store_id,
        {{ arg_min('click_id', 'ord') }} filter (where click_id is not null) as click_id,
        case when bool_or(touch_mode = 'click') then 'click' else 'view' end as touch_mode,
        false as is_direct,
        count(*) as events
    from campaign_touches
    group by customer_id, touch_key, touch_number
),

-- Direct visits: a touch only after a quiet gap since the customer's previous candidate event.
direct_visits as (
    select *
    from ordered
    where is_direct and coalesce(since_previous > {{ gap }}, true)
),

touches as (
    select
        touch_id, customer_id, touched_at, business_date, channel, touchpoint, campaign_id, creative_id,
        article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, events
    from campaign_grouped
    union all
    select
        event_id, customer_id, occurred_at, business_date, channel, touchpoint, campaign_id, creative_id,
        article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, 1
    from direct_visits
)

select t.*, r.clicks_digest
from touches t join restated r using (customer_id)
union all
select null, r.customer_id, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    r.clicks_digest
from restated r anti join touches t using (customer_id)
{%- if is_incremental() %}
-- (a row is needed to keep a digest, or to delete stored touches)
where r.clicks_digest is not null or r.customer_id in (select customer_id from {{ this }})
{%- endif %}
