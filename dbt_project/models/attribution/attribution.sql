{{ config(materialized='view') }}
-- Credits per conversion, model, lookback window and touch mode (published contract §1): the
-- credits of one conversion sum to 1 within each model × lookback × touch mode, so attributed
-- revenue adds up to net revenue. A conversion with no touch in its window gets one row with the
-- channel `unattributed` and no touch. Built in two parts so that a night without new data
-- rebuilds (and the analyst snapshot copies) only the Markov credits: `attribution_by_path`
-- (what each conversion's own path decides) and `attribution_markov` (what moves with the
-- removal effects every night).
select
    conversion_id, customer_id, converted_at, conversion_date, revenue, model, lookback_days, touch_mode,
    channel, campaign_id, touch_id, touched_at, credit, attributed_revenue
from {{ ref('attribution_by_path') }}
union all
select
    conversion_id, customer_id, converted_at, conversion_date, revenue, model, lookback_days, touch_mode,
    channel, campaign_id, touch_id, touched_at, credit, attributed_revenue
from {{ ref('attribution_markov') }}
