"""Each channel's Markov removal effect, per lookback window and touch mode.

The chain is estimated from `conversion_paths` (converting and open journeys; the
`unattributed` path has no touch and is left out) by the same engine as `cdp attribute`
(`pipelines.lib.attribution.markov`: exact, from the absorbing chain's fundamental matrix).
`attribution` then splits each conversion over the channels on its path in proportion to these
effects.
"""
import polars as pl

from pipelines.lib.attribution.markov import removal_effects
from pipelines.lib.attribution.paths import summary_from_rows


def model(dbt, session):
    paths = dbt.ref("conversion_paths").pl().filter(pl.col("path") != "unattributed")
    rows = []
    for (lookback_days, touch_mode), group in paths.sort("path").group_by(
            ["lookback_days", "touch_mode"], maintain_order=True):
        summary = summary_from_rows(
            list(zip(group["path"], group["conversions"], group["non_conversions"], group["revenue"].cast(pl.Float64))),
            source=f"conversion_paths lookback {lookback_days} {touch_mode}")
        p_conversion, effects = removal_effects(summary)
        rows += [(lookback_days, touch_mode, channel, float(effect), p_conversion)
                 for channel, effect in zip(summary.channels, effects)]
    return pl.DataFrame(rows, orient="row", schema={
        "lookback_days": pl.Int32, "touch_mode": pl.String, "channel": pl.String,
        "removal_effect": pl.Float64, "conversion_probability": pl.Float64})
