-- Each channel's Markov removal effect, per lookback window and touch mode (see the DuckDB
-- model, on_duckdb/markov_removal_effects.py): dbt-spark cannot run Python models in session
-- mode, so the rows of `conversion_paths` are piped through the same engine
-- (pipelines/lib/attribution/removal_effects.py), one script per group of windows.
select transform(lookback_days, touch_mode, path, conversions, non_conversions, revenue)
    using '{{ var("python") }} -m pipelines.lib.attribution.removal_effects'
    as (lookback_days int, touch_mode string, channel string, removal_effect double,
        conversion_probability double)
from (
    select lookback_days, touch_mode, path, conversions, non_conversions, revenue
    from {{ ref('conversion_paths') }}
    distribute by lookback_days, touch_mode
)
