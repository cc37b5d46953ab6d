{{ restated_by_customer_digest() }}
-- The credits of `attribution` (published contract §1) that a conversion's own path decides:
-- every model but Markov, and the `unattributed` row of every model (Markov's included) for a
-- conversion with no touch in its window. They change only when the path does, so a night
-- without new data keeps this table; `attribution_markov` holds the credits that move with the
-- removal effects of all open journeys. Models (README "Attribution, funnels and experiments in
-- the warehouse"):
-- - first_touch / last_touch: the first / last touch; a click beats any impression.
-- - last_non_direct: the last touch that is not a direct visit (else the last direct visit);
--   a click beats any impression.
-- - linear: 1/n to each touch.
-- - position_based: 40% first, 40% last, 20% shared by the middle; 100% for one touch, 50/50 for two.
-- - time_decay: weight 2^(-age / half-life), age measured from the touch to the order. Weights
--   are decimals with 18 places, so a path's total is exact: a double total depends on the order
--   a parallel sum met the touches in (at 10 M events 7 customers' credits differed in the last
--   bit between a restated night and a full refresh). They are taken relative to the path's last
--   touch (the common factor cancels in the credit): the last weighs 1, so however short the
--   half-life, the total never rounds to zero and a credit is off by at most 1e-18.
-- - shapley: the conversion split evenly over the distinct channels of its path, a channel's
--   share split evenly over its touches. This is the exact Shapley value of the game
--   v(S) = conversions whose channels all lie in S, per conversion (README).
-- One pass: per-path figures are hash aggregates joined back to the touches (no sort per
-- model), every model's credit is a column of the same row, then UNPIVOT turns the columns into
-- rows and drops the NULLs of touches a single-touch model passed over.
-- Restated per customer (macros/customer_days.sql): a customer's credits depend only on their
-- conversions and the touches that can claim them, so a night derives again only the customers
-- whose rows of those differ from what their stored credits were derived from (`inputs_digest`,
-- with this model's code and the settings it reads) and keeps the others'.
{%- set half_life_seconds = var('attribution_half_life_days') * 86400 %}
{%- set code = local_md5(model.raw_code ~ half_life_seconds ~ attribution_models() ~ attribution_lookbacks()
                         ~ attribution_touch_modes()) %}

with inputs as (
    select customer_id, hash(bit_xor(row_hash), count(*), '{{ code }}') as inputs_digest
    from (
        select customer_id,
            hash(conversion_id, converted_at, conversion_date, revenue, lookback_days, touch_mode, channel,
                 campaign_id, touch_id, touched_at, position, path_length, is_click, is_direct) as row_hash
        from {{ ref('conversion_touches') }}
        union all
        select customer_id, hash(conversion_id, converted_at, business_date, revenue)
        from {{ ref('conversions') }}
    )
    group by customer_id
),

-- The customers derived tonight: all on a first build, else those whose digest changed (all, when
-- the stored table predates the digest); one gone (no conversion left) has a null digest, and only
-- its old rows are deleted.
restated as (
{%- if is_incremental() %}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    select coalesce(i.customer_id, s.customer_id) as customer_id, i.inputs_digest
    from inputs i
    full join (select customer_id, any_value({{ 'inputs_digest' if 'inputs_digest' in stored else 'null' }}) as inputs_digest
               from {{ this }} group by customer_id) s
        using (customer_id)
    where i.inputs_digest is distinct from s.inputs_digest
{%- else %}
    select customer_id, inputs_digest from inputs
{%- endif %}
),

touches as (
    select
        t.conversion_id, t.customer_id, t.converted_at, t.conversion_date, t.revenue, t.lookback_days,
        t.touch_mode, t.channel, t.campaign_id, t.touch_id, t.touched_at, t.position, t.path_length,
        t.is_click, t.is_direct,
        cast(pow(0.5, {{ seconds_between('t.touched_at', 'max(t.touched_at) over (partition by t.conversion_id, '
                                                   ~ 't.lookback_days, t.touch_mode)') }} / {{ half_life_seconds }})
             as decimal(38, 18)) as decay_weight
    from {{ ref('conversion_touches') }} t
    {%- if is_incremental() %}
    where t.customer_id in (select customer_id from restated)
    {%- endif %}
),

-- one row per path and channel: how many of the path's touches the channel has
path_channels as (
    select conversion_id, lookback_days, touch_mode, channel,
        count(*) as channel_touches
    from touches
    group by all
),

-- one row per path: its distinct channels, the single-touch models' picks (clicks before views; for last_non_direct, then not direct) and the decay total
paths as (
    select p.*, c.channels
    from (
        select conversion_id, lookback_days, touch_mode,
            {{ arg_min('touch_id', ['not is_click', 'touched_at', 'touch_id']) }} as first_touch_id,
            {{ arg_max('touch_id', ['is_click', 'touched_at', 'touch_id']) }} as last_touch_id,
            {{ arg_max('touch_id', ['is_click', 'not is_direct', 'touched_at', 'touch_id']) }} as last_non_direct_touch_id,
            sum(decay_weight) as decay_total
        from touches
        group by all
    ) p
    join (
        select conversion_id, lookback_days, touch_mode, count(*) as channels
        from path_channels
        group by all
    ) c using (conversion_id, lookback_days, touch_mode)
),

scored as (
    select
        t.*,
        c.channel_touches,
        t.touch_id = p.first_touch_id as is_first,
        t.touch_id = p.last_touch_id as is_last,
        t.touch_id = p.last_non_direct_touch_id as is_last_non_direct,
        p.decay_total, p.channels
    from touches t
    join paths p using (conversion_id, lookback_days, touch_mode)
    join path_channels c using (conversion_id, lookback_days, touch_mode, channel)
),

credits as (
    select
        conversion_id, customer_id, converted_at, conversion_date, revenue, lookback_days, touch_mode,
        channel, campaign_id, touch_id, touched_at,
        case when is_first then 1 end::double as first_touch,
        case when is_last then 1 end::double as last_touch,
        case when is_last_non_direct then 1 end::double as last_non_direct,
        (1 / path_length)::double as linear,
        case
            when path_length = 1 then 1
            when path_length = 2 then 0.5
            when position = 1 or position = path_length then 0.4
            else 0.2 / (path_length - 2)
        end::double as position_based,
        (cast(decay_weight as double) / cast(decay_total as double))::double as time_decay,
        (1 / channels / channel_touches)::double as shapley
    from scored
),

unattributed as (
    select c.conversion_id, c.customer_id, c.converted_at, c.business_date as conversion_date, c.revenue,
        m.model, l.lookback_days, tm.touch_mode
    from {{ ref('conversions') }} c
    {%- if is_incremental() %}
    semi join restated r using (customer_id)
    {%- endif %}
    cross join {{ attribution_models() }} m
    cross join {{ attribution_lookbacks() }} l
    cross join {{ attribution_touch_modes() }} tm
    anti join (select distinct conversion_id, lookback_days, touch_mode from {{ ref('conversion_touches') }}) t
        using (conversion_id, lookback_days, touch_mode)
)

select c.*, r.inputs_digest
from (
    select
        conversion_id, customer_id, converted_at, conversion_date, revenue, model, lookback_days, touch_mode,
        channel, campaign_id, touch_id, touched_at, credit, credit * revenue as attributed_revenue
    from credits
    unpivot (credit for model in (first_touch, last_touch, last_non_direct, linear, position_based, time_decay, shapley))
    where credit > 0
    union all
    select
        conversion_id, customer_id, converted_at, conversion_date, revenue, model, lookback_days, touch_mode,
        'unattributed', null, null, null, 1.0, revenue
    from unattributed
) c
join restated r using (customer_id)
{%- if is_incremental() %}
union all
-- a customer with no conversion left: a row that only makes the strategy delete their credits
select null, r.customer_id, null, null, null, null, null, null, null, null, null, null, null, null, null
from restated r
where r.inputs_digest is null
{%- endif %}
