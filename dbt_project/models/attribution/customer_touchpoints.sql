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
-- A logged customer whose digest did not change is derived again from a cut (`cut_at`), not
-- from their first event: every event that changed lies on a logged day, a day before the first
-- one at the earliest (business days are local), or folds at its click id's first sighting,
-- which the digest says did not move; the events before the cut are the stored ones. So their
-- direct visits are derived again from the cut (the gap read from before it), and their campaign
-- touches per touch key from the last stored touch that began before it (its first event's
-- place, `first_fold_at`) when a later event may still join it (its last event's place,
-- `last_fold_at`, is within the gap of the cut), else from the cut; the touches before are kept
-- as stored. At 10 M events a 1% night derived 2.28 M candidate events of 31.5 k customers whole;
-- nine in ten of them had no new click and are derived from a cut.
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
    select e.customer_id, e.business_date, e.event_id, e.click_id, e.occurred_at,
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
-- stored, whose touches may all be gone); else those whose digest changed, whole, and the other
-- logged ones from their cut: the day before their first logged day, or the first sighting of a
-- click id on a logged day when earlier.
{%- set logged = logged_customer_days() %}
{%- set from_cuts = is_incremental() and logged is not none %}
{%- if from_cuts %}
logged_days as (
    {{ logged }}
),

digest_changed as (
    select coalesce(d.customer_id, s.customer_id) as customer_id
    from click_digests d
    full join (select customer_id, any_value(clicks_digest) as clicks_digest from {{ this }} group by customer_id) s
        using (customer_id)
    where d.clicks_digest is distinct from s.clicks_digest
),

logged_click_folds as (
    select c.customer_id, min(f.first_at) as first_fold
    from click_events c
    join click_firsts f using (click_id)
    semi join logged_days l on l.customer_id = c.customer_id and l.business_date = c.business_date
    group by c.customer_id
),
{%- endif %}

restated_customers as (
{%- if from_cuts %}
    select customer_id, cast(null as timestamp) as cut_at from digest_changed
    union all
    select l.customer_id, least(cast(l.first_day - 1 as timestamp), f.first_fold) as cut_at
    from (select customer_id, min(business_date) as first_day from logged_days
          where customer_id <> 'anonymous' group by customer_id) l
    left join logged_click_folds f using (customer_id)
    anti join digest_changed d using (customer_id)
{%- else %}
    select distinct e.customer_id, cast(null as timestamp) as cut_at {{ candidate_events }} where {{ known }}
    {%- if is_incremental() %}
    union
    select customer_id, cast(null as timestamp) from {{ this }}
    {%- endif %}
{%- endif %}
),

{%- if from_cuts %}
-- The stored touches of the customers derived from a cut; per touch key, where its touches are
-- derived again: the first fold of its last touch that began before the cut, if that touch is
-- still open at the cut (else the cut: a key quiet for months reads nothing).
stored_touches as (
    select s.*, r.cut_at
    from {{ this }} s
    join restated_customers r using (customer_id)
    where r.cut_at is not null and s.touch_id is not null
),

key_cuts as (
    select
        customer_id,
        touch_key,
        case when {{ arg_max('last_fold_at', 'first_fold_at') }} filter (where first_fold_at < cut_at)
                  >= min(cut_at) - {{ gap }}
             then max(first_fold_at) filter (where first_fold_at < cut_at)
             else min(cut_at) end as key_cut_at
    from stored_touches
    where not is_direct
    group by customer_id, touch_key
),

kept_touches as (
    select s.*
    from stored_touches s
    left join key_cuts k using (customer_id, touch_key)
    where case when s.is_direct then s.touched_at < s.cut_at else s.first_fold_at < k.key_cut_at end
),
{%- endif %}

-- ... and from when their candidate events are read: the cut, less the gap before it (a direct
-- visit's previous event), or the earliest key's cut
restated as (
    select r.customer_id, d.clicks_digest, r.cut_at,
    {%- if from_cuts %}
        least(r.cut_at - {{ gap }}, (select min(k.key_cut_at) from key_cuts k where k.customer_id = r.customer_id))
    {%- else %}
        cast(null as timestamp)
    {%- endif %} as read_from
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
        {%- if is_incremental() %},
        t.cut_at
        {%- else %},
        cast(null as timestamp) as cut_at
        {%- endif %}
    {{ candidate_events }}
    left join click_firsts f on f.click_id = e.click_id
    {%- if is_incremental() %}
    join restated t on t.customer_id = e.customer_id and (t.read_from is null or e.occurred_at >= t.read_from)
    {%- endif %}
    where {{ known }}
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
        o.*,
        coalesce(o.fold_at - lag(o.fold_at) over same_key > {{ gap }}, true) as starts_touch
    from ordered o
    {%- if from_cuts %}
    left join key_cuts k using (customer_id, touch_key)
    where not o.is_direct and (o.cut_at is null or o.fold_at >= coalesce(k.key_cut_at, o.cut_at))
    {%- else %}
    where not o.is_direct
    {%- endif %}
    window same_key as (partition by o.customer_id, o.touch_key order by o.fold_at, o.occurred_at, o.event_id)
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
        count(*) as events,
        touch_key,
        min(fold_at) as first_fold_at,
        max(fold_at) as last_fold_at
    from campaign_touches
    group by customer_id, touch_key, touch_number
),

-- Direct visits: a touch only after a quiet gap since the customer's previous candidate event.
direct_visits as (
    select *
    from ordered
    where is_direct and coalesce(since_previous > {{ gap }}, true) and (cut_at is null or occurred_at >= cut_at)
),

-- (`touch_key`, `first_fold_at` and `last_fold_at`: where a campaign touch stands among its key's,
-- for a cut)
touches as (
    select
        touch_id, customer_id, touched_at, business_date, channel, touchpoint, campaign_id, creative_id,
        article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, events, touch_key, first_fold_at,
        last_fold_at
    from campaign_grouped
    union all
    select
        event_id, customer_id, occurred_at, business_date, channel, touchpoint, campaign_id, creative_id,
        article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, 1, null, null, null
    from direct_visits
    {%- if from_cuts %}
    union all
    select
        touch_id, customer_id, touched_at, business_date, channel, touchpoint, campaign_id, creative_id,
        article_id, room_id, guide_id, store_id, click_id, touch_mode, is_direct, events, touch_key, first_fold_at,
        last_fold_at
    from kept_touches
    {%- endif %}
)

select
    t.touch_id, t.customer_id, t.touched_at, t.business_date, t.channel, t.touchpoint, t.campaign_id, t.creative_id,
    t.article_id, t.room_id, t.guide_id, t.store_id, t.click_id, t.touch_mode, t.is_direct, t.events,
    r.clicks_digest, t.touch_key, t.first_fold_at, t.last_fold_at
from touches t join restated r using (customer_id)
union all
select null, r.customer_id, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    r.clicks_digest, null, null, null
from restated r anti join touches t using (customer_id)
{%- if is_incremental() %}
-- (a row is needed to keep a digest, or to delete stored touches)
where r.clicks_digest is not null or r.customer_id in (select customer_id from {{ this }})
{%- endif %}
