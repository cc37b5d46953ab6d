"""Markov removal effects per lookback window and touch mode, from the rows of the dbt model
`conversion_paths`: what the model `markov_removal_effects` holds on either engine.

DuckDB runs the model in Python (`models/attribution/on_duckdb/`); Spark pipes the rows through
this module (`models/attribution/on_spark/`: `TRANSFORM ... USING 'python -m
pipelines.lib.attribution.removal_effects'`, tab-separated lines in and out), so both engines'
figures come from the same exact solve (`markov.removal_effects`).
"""
from __future__ import annotations

import sys
from itertools import groupby
from typing import Iterable, TextIO

from pipelines.lib.attribution.markov import removal_effects
from pipelines.lib.attribution.paths import summary_from_rows

# (lookback_days, touch_mode, path, conversions, non_conversions, revenue)
PathRow = tuple[int, str, str, int, int, float]
# (lookback_days, touch_mode, channel, removal_effect, conversion_probability)
EffectRow = tuple[int, str, str, float, float]


def removal_effect_rows(paths: Iterable[PathRow]) -> list[EffectRow]:
    """Each channel's removal effect per (lookback_days, touch_mode); `unattributed` paths (no
    touch) are left out."""
    rows: list[EffectRow] = []
    kept = sorted(p for p in paths if p[2] != "unattributed")
    for (lookback_days, touch_mode), group in groupby(kept, key=lambda p: (p[0], p[1])):
        summary = summary_from_rows([(path, conversions, non_conversions, float(revenue))
                                     for _, _, path, conversions, non_conversions, revenue in group],
                                    source=f"conversion_paths lookback {lookback_days} {touch_mode}")
        p_conversion, effects = removal_effects(summary)
        rows += [(lookback_days, touch_mode, channel, float(effect), p_conversion)
                 for channel, effect in zip(summary.channels, effects)]
    return rows


def transform(lines: TextIO, out: TextIO) -> None:
    """Spark's script transform: one tab-separated `PathRow` per line in, one `EffectRow` out."""
    paths = []
    for line in lines:
        lookback_days, touch_mode, path, conversions, non_conversions, revenue = line.rstrip("\n").split("\t")
        paths.append((int(lookback_days), touch_mode, path, int(conversions), int(non_conversions),
                      0.0 if revenue == "\\N" else float(revenue)))
    for row in removal_effect_rows(paths):
        out.write("\t".join(repr(v) if isinstance(v, float) else str(v) for v in row) + "\n")


if __name__ == "__main__":
    transform(sys.stdin, sys.stdout)
