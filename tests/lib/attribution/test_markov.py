"""Markov removal effects: by hand, and against an independent fixed-point computation."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from pipelines.lib.attribution import attribute, summary_from_rows
from pipelines.lib.attribution.markov import removal_effects
from tests.lib.attribution.conftest import random_rows


def test_removal_effects_by_hand_on_two_paths():
    # a > b: 1 conversion, 1 not (weight 2); b: 1 and 1 (weight 2).
    # start -> a 2, start -> b 2: 1/2 each.  a -> b: 1.  b -> conversion 2, null 2: 1/2 each.
    # h(b) = 1/2, h(a) = h(b) = 1/2, P(conv) = 1/2 * 1/2 + 1/2 * 1/2 = 1/2.
    # Without a: start -> a goes to null, P = 1/2 * h(b) = 1/4: removal effect 1 - (1/4)/(1/2) = 1/2.
    # Without b: nothing converts, P = 0: removal effect 1.
    # Shares 1/2 : 1 -> 1/3, 2/3 of 2 conversions and of 90 revenue.
    summary = summary_from_rows([("a > b", 1, 1, 30.0), ("b", 1, 1, 60.0)])
    p_conv, effects = removal_effects(summary)
    assert p_conv == pytest.approx(0.5) and effects == pytest.approx([0.5, 1.0])
    got = attribute(summary, "markov").as_dict()
    assert got["a"] == pytest.approx((2 / 3, 30.0)) and got["b"] == pytest.approx((4 / 3, 60.0))


def test_removal_effects_by_hand_on_three_channels():
    # a > c: 3 conversions, 1 not (weight 4); b > c: 1 and 3 (weight 4); a: 0 and 2 (weight 2).
    # start: a 6/10, b 4/10.  a: c 4/6, null 2/6.  b: c 1.  c: conversion 4/8, null 4/8.
    # h(c) = 1/2, h(a) = 2/3 * 1/2 = 1/3, h(b) = 1/2;  P = .6 * 1/3 + .4 * 1/2 = 0.4.
    # Without a: P = .4 * 1/2 = 0.2 -> 0.5.  Without b: P = .6 * 1/3 = 0.2 -> 0.5.  Without c: 0 -> 1.
    # Shares .25, .25, .5 of 4 conversions and 400 revenue: a 1 / 100, b 1 / 100, c 2 / 200.
    summary = summary_from_rows([("a > c", 3, 1, 300.0), ("b > c", 1, 3, 100.0), ("a", 0, 2, 0.0)])
    p_conv, effects = removal_effects(summary)
    assert p_conv == pytest.approx(0.4) and effects == pytest.approx([0.5, 0.5, 1.0])
    got = attribute(summary, "markov").as_dict()
    assert got == {k: pytest.approx(v) for k, v in {"a": (1, 100), "b": (1, 100), "c": (2, 200)}.items()}


def test_repeating_a_channel_in_a_row_changes_nothing():
    # A self-loop a -> a only renormalises a's other exits: absorption probabilities are unchanged.
    plain = summary_from_rows([("a > b", 3, 2, 30.0), ("b", 1, 4, 10.0), ("a", 2, 2, 20.0)])
    looped = summary_from_rows([("a > a > b", 3, 2, 30.0), ("b > b", 1, 4, 10.0), ("a > a > a", 2, 2, 20.0)])
    assert removal_effects(looped)[1] == pytest.approx(removal_effects(plain)[1], rel=1e-12)


def test_no_conversions_gives_no_credit():
    got = attribute(summary_from_rows([("a > b", 0, 5, 0.0), ("b", 0, 1, 0.0)]), "markov").as_dict()
    assert got == {"a": (0, 0), "b": (0, 0)}


def fixed_point_removal_effects(rows) -> tuple[float, dict[str, float]]:
    """An independent computation: transition counts in dicts, then h = Q h + r iterated to its
    fixed point (no matrix inverse), once for the whole chain and once per removed channel."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path, conversions, non_conversions, _ in rows:
        states = ["(start)"] + [c.strip() for c in path.split(">")]
        for a, b in zip(states, states[1:]):
            counts[a][b] += conversions + non_conversions
        counts[states[-1]]["(conversion)"] += conversions
        counts[states[-1]]["(null)"] += non_conversions
    channels = sorted(s for s in counts if s != "(start)")

    def p_conv(removed: str | None) -> float:
        h = defaultdict(float, {"(conversion)": 1.0})
        for _ in range(5000):
            new = defaultdict(float, {"(conversion)": 1.0})
            for state, out in counts.items():
                if state != removed:
                    new[state] = sum(n * h[to] for to, n in out.items() if to != removed) / sum(out.values())
            if max(abs(new[s] - h[s]) for s in counts) < 1e-15:
                break
            h = new
        return h["(start)"]

    total = p_conv(None)
    return total, {c: 1 - p_conv(c) / total for c in channels}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_removal_effects_equal_an_independent_fixed_point_computation(seed):
    rows = random_rows(seed, channels=5, paths=120, max_touches=6)
    summary = summary_from_rows(rows)
    expected_p, expected = fixed_point_removal_effects(rows)
    p_conv, effects = removal_effects(summary)
    assert p_conv == pytest.approx(expected_p, rel=1e-9)
    assert dict(zip(summary.channels, effects)) == pytest.approx(expected, rel=1e-9)
    assert np.all(effects > 0)
