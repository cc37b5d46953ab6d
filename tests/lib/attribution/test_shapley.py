"""Shapley credits: by hand, against the definition over every channel order, and sampled."""
from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from pipelines.lib.attribution import attribute, summary_from_rows
from pipelines.lib.attribution.shapley import EXACT_MAX_CHANNELS, PERMUTATIONS, _coalitions_by_frame, coalitions, \
    exact_shapley, sampled_shapley
from tests.lib.attribution.conftest import random_rows


def test_shapley_by_hand_on_three_channels():
    # Sets of converting paths: {a}: 2, {a, b}: 4 (revenue 40), {b, c}: 3 (`b > c > b`: a set).
    # `c` alone never converts. v: {}=0 a=2 b=0 c=0 ab=6 ac=2 bc=3 abc=9. Weights 1/3 (|S|=0 or 2), 1/6 (|S|=1).
    # a: 1/3 (2-0) + 1/6 (6-0) + 1/6 (2-0) + 1/3 (9-3) = 2/3 + 1 + 1/3 + 2 = 4
    # b: 1/3 (0-0) + 1/6 (6-2) + 1/6 (3-0) + 1/3 (9-2) = 4/6 + 3/6 + 14/6 = 3.5
    # c: 1/3 (0-0) + 1/6 (2-2) + 1/6 (3-0) + 1/3 (9-6) = 1/2 + 1 = 1.5        (sum 9: all conversions)
    # Revenue, the same game with revenue: {a}: 20, {a, b}: 40, {b, c}: 30 -> a 40, b 35, c 15.
    summary = summary_from_rows([("a", 2, 0, 20.0), ("a > b", 4, 1, 40.0), ("b > c > b", 3, 3, 30.0),
                                 ("c", 0, 5, 0.0)])
    got = attribute(summary, "shapley").as_dict()
    assert got == {k: pytest.approx(v) for k, v in {"a": (4, 40), "b": (3.5, 35), "c": (1.5, 15)}.items()}


def closed_form(rows) -> dict[str, float]:
    """Zhao et al. (2018)'s simplified Shapley value, exact for this game: each converting path
    split evenly over its distinct channels."""
    out: dict[str, float] = {}
    for path, conversions, _, _ in rows:
        members = {c.strip() for c in path.split(">")}
        for c in members:
            out[c] = out.get(c, 0.0) + conversions / len(members)
    return out


def by_every_order(rows) -> dict[str, float]:
    """The definition itself: mean marginal contribution over all n! channel orders, v by brute force."""
    sets = [({c.strip() for c in p.split(">")}, n) for p, n, _, _ in rows]
    channels = sorted(set().union(*(s for s, _ in sets)))

    def v(coalition: set[str]) -> float:
        return sum(n for s, n in sets if s <= coalition)

    total = {c: 0.0 for c in channels}
    orders = list(permutations(channels))
    for order in orders:
        for i, c in enumerate(order):
            total[c] += v(set(order[: i + 1])) - v(set(order[:i]))
    return {c: x / len(orders) for c, x in total.items()}


@pytest.mark.parametrize("seed", [4, 5])
def test_exact_shapley_equals_the_definition_over_every_order(seed):
    rows = random_rows(seed, channels=5, paths=60, max_touches=5)
    got = {c: n for c, (n, _) in attribute(summary_from_rows(rows), "shapley").as_dict().items()}
    assert got == pytest.approx(by_every_order(rows), rel=1e-12)
    assert got == pytest.approx(closed_form(rows), rel=1e-12)


def test_exact_shapley_at_the_twelve_channel_limit_equals_the_closed_form():
    rows = random_rows(6, channels=EXACT_MAX_CHANNELS, paths=400, max_touches=8)
    summary = summary_from_rows(rows)
    assert len(summary.channels) == EXACT_MAX_CHANNELS
    got = attribute(summary, "shapley")
    assert dict(zip(summary.channels, got.conversions)) == pytest.approx(closed_form(rows), rel=1e-10)
    assert got.conversions.sum() == pytest.approx(summary.total_conversions)
    assert got.revenue.sum() == pytest.approx(summary.total_revenue)


def test_beyond_twelve_channels_sampling_is_within_its_noise_and_sums_exactly():
    rows = random_rows(7, channels=16, paths=600, max_touches=8)
    summary = summary_from_rows(rows)
    got = attribute(summary, "shapley")
    expected = closed_form(rows)
    # Each order hands every path to exactly one channel: totals are exact, not estimated.
    assert got.conversions.sum() == pytest.approx(summary.total_conversions, rel=1e-12)
    assert got.revenue.sum() == pytest.approx(summary.total_revenue, rel=1e-12)
    # Noise: the spread of 20 independent estimates of 1,000 orders each, per channel, scaled to
    # PERMUTATIONS orders (a mean's spread shrinks with the square root of the draws).
    members, values = coalitions(summary)
    runs = np.array([sampled_shapley(16, members, values, 1_000, seed)[:, 0] for seed in range(20)])
    spread = runs.std(axis=0, ddof=1) * np.sqrt(1_000 / PERMUTATIONS)
    exact = np.array([expected[c] for c in summary.channels])
    assert np.all(np.abs(got.conversions - exact) <= 4 * spread)
    assert np.max(spread / exact) < 0.02 and np.max(np.abs(got.conversions - exact) / exact) < 0.05
    # and the same generator at the exact limit agrees with the exact computation
    small = summary_from_rows(random_rows(8, channels=6, paths=100, max_touches=5))
    m, v = coalitions(small)
    assert sampled_shapley(6, m, v, 20_000, 1) == pytest.approx(exact_shapley(6, m, v), rel=0.03)


def test_the_same_file_gives_the_same_sampled_credits_every_run():
    summary = summary_from_rows(random_rows(9, channels=14, paths=200))
    assert np.array_equal(attribute(summary, "shapley").conversions, attribute(summary, "shapley").conversions)


def test_more_channels_than_a_bit_mask_holds_group_the_same_sets():
    def canonical(members, values):   # rounded: the two groupings add revenue in different orders
        return sorted((tuple(int(c) for c in sorted(m[m >= 0])), tuple(np.round(v, 6)))
                      for m, v in zip(members, values))

    small = summary_from_rows(random_rows(10, channels=9, paths=150))
    assert canonical(*coalitions(small)) == canonical(*_coalitions_by_frame(small))
    wide = summary_from_rows(random_rows(10, channels=70, paths=150, max_touches=4))
    assert len(wide.channels) == 70
    got = attribute(wide, "shapley")
    assert got.conversions.sum() == pytest.approx(wide.total_conversions, rel=1e-12)
