"""First touch, last touch, linear and position-based on a summary small enough to do by hand."""
from __future__ import annotations

import pytest

from pipelines.lib.attribution import attribute, summary_from_rows

# Seven conversions, 200 of revenue. `b > a > a` repeats a channel; `d > b` never converts.
HAND = summary_from_rows([
    ("a > b > c > d", 2, 1, 100.0),
    ("b > a > a", 1, 0, 30.0),
    ("c", 1, 4, 10.0),
    ("a > d", 3, 2, 60.0),
    ("d > b", 0, 5, 0.0),
])


def credits(model: str) -> dict[str, tuple[float, float]]:
    return attribute(HAND, model).as_dict()


def test_first_touch_gives_each_conversion_to_the_first_channel():
    # a: 2 (a>b>c>d) + 3 (a>d) = 5, revenue 100 + 60; b: 1 (b>a>a), 30; c: 1, 10; d never first.
    assert credits("first_touch") == {"a": (5, 160), "b": (1, 30), "c": (1, 10), "d": (0, 0)}


def test_last_touch_gives_each_conversion_to_the_last_channel():
    # d: 2 + 3 = 5, revenue 160; a: 1 (b>a>a), 30; c: 1, 10; b is last only on `d > b`, 0 conversions.
    assert credits("last_touch") == {"a": (1, 30), "b": (0, 0), "c": (1, 10), "d": (5, 160)}


def test_linear_splits_each_path_per_touch_so_a_repeated_channel_earns_per_touch():
    # a>b>c>d: 2/4 = 0.5 conversion and 25 revenue each.  b>a>a: b 1/3 (10), a 2/3 (20).
    # c: 1 (10).  a>d: 1.5 (30) each.
    # a = 0.5 + 2/3 + 1.5 = 2.6667, 25 + 20 + 30 = 75;  b = 0.5 + 1/3, 25 + 10 = 35
    # c = 0.5 + 1 = 1.5, 25 + 10 = 35;  d = 0.5 + 1.5 = 2, 25 + 30 = 55
    expected = {"a": (0.5 + 2 / 3 + 1.5, 75), "b": (0.5 + 1 / 3, 35), "c": (1.5, 35), "d": (2, 55)}
    for channel, (n, r) in credits("linear").items():
        assert (n, r) == (pytest.approx(expected[channel][0]), pytest.approx(expected[channel][1]))


def test_position_based_gives_40_20_40_one_touch_all_two_touches_half_each():
    # a>b>c>d (x2, 100): a .4, b .1, c .1, d .4 -> a .8, b .2, c .2, d .8; revenue 40, 10, 10, 40.
    # b>a>a (x1, 30): b .4 (first), a .2 (middle) + .4 (last) = .6 -> revenue b 12, a 18.
    # c (x1, 10): c 1 -> 10.   a>d (x3, 60): two touches, .5 each -> 1.5 and 30 each.
    # a = .8 + .6 + 1.5 = 2.9, 40 + 18 + 30 = 88;  b = .2 + .4 = .6, 10 + 12 = 22
    # c = .2 + 1 = 1.2, 10 + 10 = 20;  d = .8 + 1.5 = 2.3, 40 + 30 = 70
    expected = {"a": (2.9, 88), "b": (0.6, 22), "c": (1.2, 20), "d": (2.3, 70)}
    for channel, (n, r) in credits("position_based").items():
        assert (n, r) == (pytest.approx(expected[channel][0]), pytest.approx(expected[channel][1]))


def test_position_based_splits_the_middle_fifth_evenly_over_longer_paths():
    # a > b > c > d > e: .4 to a and e, .2 / 3 to each of b, c, d.
    got = attribute(summary_from_rows([("a > b > c > d > e", 1, 0, 0.0)]), "position_based").as_dict()
    assert {k: round(v[0], 12) for k, v in got.items()} == {"a": 0.4, "b": 0.066666666667, "c": 0.066666666667,
                                                             "d": 0.066666666667, "e": 0.4}


def test_a_channel_only_on_non_converting_paths_is_listed_with_zero_credit():
    got = attribute(summary_from_rows([("a", 2, 0, 20.0), ("z", 0, 9, 0.0)]), "linear").as_dict()
    assert got == {"a": (2, 20), "z": (0, 0)}
