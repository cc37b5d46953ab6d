"""Each channel's Markov removal effect, per lookback window and touch mode.

The chain is estimated from `conversion_paths` (converting and open journeys; the
`unattributed` path has no touch and is left out) by the same engine as `cdp attribute`
(`pipelines.lib.attribution.markov`: exact, from the absorbing chain's fundamental matrix).
`attribution` then splits each conversion over the channels on its path in proportion to these
effects. (On Spark, `on_spark/markov_removal_effects.sql` feeds the same engine.)
"""
import polars as pl

from pipelines.lib.attribution.removal_effects import removal_effect_rows


def model(dbt, session):
    paths = dbt.ref("conversion_paths").pl().select(
        "lookback_days", "touch_mode", "path", "conversions", "non_conversions", "revenue")
    return pl.DataFrame(removal_effect_rows(paths.iter_rows()), orient="row", schema={
        "lookback_days": pl.Int32, "touch_mode": pl.String, "channel": pl.String,
        "removal_effect": pl.Float64, "conversion_probability": pl.Float64})
