"""First-order Markov attribution by removal effect, computed exactly (no simulation).

The chain: states `(start)`, one per channel, and two absorbing states `(conversion)` and
`(null)`. Every path `a > b > c` with `k` conversions and `m` non-conversions adds `k + m`
transitions start->a, a->b, b->c, then `k` c->conversion and `m` c->null. Transition
probabilities are the counts normalised per state (the maximum-likelihood estimate, as in
Anderl et al. 2016, "Mapping the customer journey: lessons learned from graph-based online
attribution modeling", and the `ChannelAttribution` package).

With Q the transient-to-transient probabilities, N = (I - Q)^-1 the fundamental matrix and r
the one-step conversion probabilities, the probability of converting from each state is
h = N r (solved with NumPy), and P(conversion) = h[start].

Removing a channel sends every transition into it to `(null)`, so the chain without channel k
converts exactly when the original chain converts without ever visiting k. By the strong
Markov property, P(visit k, then convert) = P(reach k from start) x h[k], and
P(reach k from start) = N[start, k] / N[k, k]. So one inversion gives every removal effect:

    removal_effect(k) = 1 - P(conv without k) / P(conv) = N[start, k] h[k] / (N[k, k] h[start])

(the tests check it against removing each channel and iterating h = Q h + r to its fixed
point). Credit shares are the removal effects normalised to sum to 1, applied to total
conversions and total revenue.

Repeated channels: `a > a` is a self-transition a->a. It is kept; it changes neither the
absorption probabilities nor the removal effects (a self-loop only renormalises a state's other
exits), which is why dropping self-loops, as `ChannelAttribution` does, gives the same answer.
Non-converting paths count here (and only here): they are the `(null)` exits.

Dense matrices: a few thousand channels at most, which path summaries never approach.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.lib.attribution.credits import Credits
from pipelines.lib.attribution.paths import PathSummary


@dataclass(frozen=True)
class Chain:
    """The estimated chain over transient states 0..n-1 (channels) and n (start)."""

    q: np.ndarray              # (n+1, n+1) transition probabilities between transient states
    to_conversion: np.ndarray  # (n+1,) one-step probability of converting
    to_null: np.ndarray        # (n+1,) one-step probability of ending without conversion

    @property
    def start(self) -> int:
        return len(self.q) - 1


def chain(summary: PathSummary) -> Chain:
    """Counts every transition of every path (weighted by the path's count), then normalises."""
    n = len(summary.channels)
    start, size = n, n + 1
    weight = np.repeat((summary.conversions + summary.non_conversions).astype(float), summary.lengths)
    previous = np.empty_like(summary.touches)
    previous[1:] = summary.touches[:-1]
    previous[summary.offsets[:-1]] = start          # a path's first touch comes from (start)
    counts = np.bincount(previous * size + summary.touches, weights=weight, minlength=size * size)
    counts = counts.reshape(size, size)
    last = summary.touches[summary.offsets[1:] - 1]
    conv = np.bincount(last, weights=summary.conversions.astype(float), minlength=size)
    null = np.bincount(last, weights=summary.non_conversions.astype(float), minlength=size)
    out = counts.sum(axis=1) + conv + null
    # A state no counted path leaves (only on rows with 0 conversions and 0 non-conversions) has no
    # exits: it keeps an all-zero row, so it converts with probability 0 and I - Q stays invertible.
    scale = np.divide(1.0, out, out=np.zeros(size), where=out > 0)
    return Chain(q=counts * scale[:, None], to_conversion=conv * scale, to_null=null * scale)


def removal_effects(summary: PathSummary) -> tuple[float, np.ndarray]:
    """P(conversion) of the whole chain, and each channel's removal effect (aligned with channels)."""
    c = chain(summary)
    n = len(summary.channels)
    if n == 0 or not summary.conversions.any():
        return 0.0, np.zeros(n)
    fundamental = np.linalg.inv(np.eye(len(c.q)) - c.q)
    h = fundamental @ c.to_conversion
    p_conv = float(h[c.start])
    reach = fundamental[c.start, :n] / np.diag(fundamental)[:n]   # P(the chain ever visits k)
    effects = reach * h[:n] / p_conv
    return p_conv, np.clip(effects, 0.0, 1.0)                   # clip: rounding at 1e-16 only


def markov(summary: PathSummary) -> Credits:
    """Normalised removal effects x total conversions and total revenue."""
    _, effects = removal_effects(summary)
    total = effects.sum()
    share = effects / total if total > 0 else np.zeros_like(effects)
    return Credits("markov", summary.channels, share * summary.total_conversions, share * summary.total_revenue)
