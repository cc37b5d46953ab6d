"""Rule-based models: first touch, last touch, linear, position-based (40/20/40).

Each gives every touch of a path a weight, the weights of a path summing to 1, and a channel
earns weight x the path's conversions and revenue. Non-converting paths earn nothing here
(they matter to Markov only).

Repeated channels count per touch, because a touch is what a marketer paid for: in
`a > a > b` linear gives `a` 2/3 and `b` 1/3, and position-based gives `a` 0.4 + 0.2 = 0.6
(first touch plus the only middle touch) and `b` 0.4. `direct` is a channel like any other:
last non-direct needs touch-level data and lives in the warehouse models.
"""
from __future__ import annotations

import numpy as np

from pipelines.lib.attribution.credits import Credits, per_path, per_touch
from pipelines.lib.attribution.paths import PathSummary

FIRST_SHARE = LAST_SHARE = 0.4      # position-based ends; the middle touches share the other 0.2


def first_touch(summary: PathSummary) -> Credits:
    """All credit to the path's first touch."""
    return per_path("first_touch", summary, summary.touches[summary.offsets[:-1]])


def last_touch(summary: PathSummary) -> Credits:
    """All credit to the path's last touch."""
    return per_path("last_touch", summary, summary.touches[summary.offsets[1:] - 1])


def linear(summary: PathSummary) -> Credits:
    """Equal credit to every touch: 1 / (touches in the path)."""
    share = 1.0 / summary.lengths
    return per_touch("linear", summary, share, share, share)


def position_based(summary: PathSummary) -> Credits:
    """40% to the first touch, 40% to the last, 20% shared by the touches between.

    One touch takes 100%; two touches take 50% each (there is no middle to give 20% to, and
    the usual U-shape convention splits evenly rather than leaving credit unassigned).
    """
    length = summary.lengths
    middle = (1 - FIRST_SHARE - LAST_SHARE) / np.maximum(length - 2, 1)
    first = np.where(length == 2, 0.5, FIRST_SHARE)
    last = np.select([length == 1, length == 2], [1.0, 0.5], LAST_SHARE)
    return per_touch("position_based", summary, middle, first, last)
