"""Channel credits: what every model returns, and the CSV `cdp attribute` writes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Six decimals: fractional conversions stay readable and sum back to the path totals within
# half a millionth per channel; revenue in currency units needs no more.
DECIMALS = 6


@dataclass(frozen=True)
class Credits:
    """Fractional conversions and revenue per channel, aligned with `channels` (sorted names).

    Every channel of the summary is listed, with 0 where a model gives it nothing, so the same
    file gives the same rows whatever the model: reports can be joined model by model.
    """

    model: str
    channels: tuple[str, ...]
    conversions: np.ndarray        # float64 per channel; sums to the summary's conversions
    revenue: np.ndarray            # float64 per channel; sums to the summary's revenue

    def as_dict(self) -> dict[str, tuple[float, float]]:
        """{channel: (conversions, revenue)}, convenient in tests and notebooks."""
        return {c: (float(n), float(r)) for c, n, r in zip(self.channels, self.conversions, self.revenue)}

    def to_csv(self) -> str:
        """`channel,conversions,revenue`, one row per channel sorted by name, fixed 6 decimals."""
        lines = ["channel,conversions,revenue"]
        for channel, n, r in zip(self.channels, self.conversions, self.revenue):
            # `+ 0.0` turns a -0.0 from floating-point cancellation into 0.0 before printing.
            lines.append(f"{_csv_field(channel)},{round(n, DECIMALS) + 0.0:.{DECIMALS}f},"
                         f"{round(r, DECIMALS) + 0.0:.{DECIMALS}f}")
        return "\n".join(lines) + "\n"


def _csv_field(text: str) -> str:
    """A channel name quoted the CSV way when it holds a comma, a quote or a line break."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def per_touch(model: str, summary, middle: np.ndarray, first: np.ndarray, last: np.ndarray) -> Credits:
    """Credits from the weight of each touch, given per path: its first touch, its last touch and
    each touch between (a path's weights sum to 1; on a one-touch path `last` is the weight).

    A touch earns weight x its path's conversions (and revenue). Per-path weights are spread over
    the touches with one `repeat` and two scatters, then `bincount` sums them per channel: two
    arrays the size of all touches in all, because allocating those dominates at 20 M touches.
    """
    n = len(summary.channels)
    credited = []
    for value in (summary.conversions.astype(float), summary.revenue):
        weight = np.repeat(middle * value, summary.lengths)
        weight[summary.offsets[:-1]] = first * value
        weight[summary.offsets[1:] - 1] = last * value
        credited.append(np.bincount(summary.touches, weights=weight, minlength=n))
    return Credits(model, summary.channels, *credited)


def per_path(model: str, summary, channel: np.ndarray) -> Credits:
    """Credits when one touch per path takes it all (first, last): a pass over paths, not touches."""
    n = len(summary.channels)
    return Credits(model, summary.channels,
                   np.bincount(channel, weights=summary.conversions.astype(float), minlength=n),
                   np.bincount(channel, weights=summary.revenue, minlength=n))
