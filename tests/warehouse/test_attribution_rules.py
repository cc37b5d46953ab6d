"""The attribution models on touches and orders written by hand, with every credit worked out
by hand: windows, click-over-view, the path restart, the unattributed bucket, every model.

The warehouse holds hand-made `touchpoints` and `conversions` tables; dbt builds only what is
downstream of them (real dbt, real DuckDB), with the project's tests.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.layout import Layout
from tests.warehouse.conftest import dbt_build, query

AS_OF = "2026-03-10"
UTC = timezone.utc

# (touch_id, customer, touched_at (UTC), business_date, channel, campaign, touch_mode, is_direct)
TOUCHES = [
    ("t1", "A", datetime(2026, 3, 1, 2, tzinfo=UTC), "2026-03-01", "wechat_ads", "C1", "click", False),
    ("t2", "A", datetime(2026, 3, 5, 2, tzinfo=UTC), "2026-03-05", "official_account", None, "view", False),
    ("t3", "A", datetime(2026, 3, 8, 1, tzinfo=UTC), "2026-03-08", "app", None, "click", True),
    ("t4", "A", datetime(2026, 3, 8, 2, tzinfo=UTC), "2026-03-08", "paid_social", "C2", "view", False),
    ("t8", "A", datetime(2026, 3, 8, 4, tzinfo=UTC), "2026-03-08", "sms", None, "click", False),   # at the order: not before it
    ("t5", "A", datetime(2026, 3, 9, 0, tzinfo=UTC), "2026-03-09", "push", None, "click", False),
    ("t6", "A", datetime(2026, 3, 10, 1, tzinfo=UTC), "2026-03-10", "sms", None, "click", False),
    ("t7", "C", datetime(2026, 3, 10, 1, tzinfo=UTC), "2026-03-10", "paid_social", "C2", "view", False),
]
# (conversion_id, customer, converted_at (UTC), business_date, revenue, previous_converted_at)
CONVERSIONS = [
    ("o1", "A", datetime(2026, 3, 8, 4, tzinfo=UTC), "2026-03-08", 100.0, None),
    ("o2", "A", datetime(2026, 3, 9, 4, tzinfo=UTC), "2026-03-09", 50.0, datetime(2026, 3, 8, 4, tzinfo=UTC)),
    ("o3", "B", datetime(2026, 3, 9, 5, tzinfo=UTC), "2026-03-09", 30.0, None),
]
MODELS = ["first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "markov", "shapley"]


def build(data_dir: Path, extra_vars: dict | None = None) -> Path:
    Layout(data_dir).warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("""CREATE TABLE touchpoints (touch_id VARCHAR, customer_id VARCHAR, touched_at TIMESTAMPTZ,
                       business_date DATE, channel VARCHAR, campaign_id VARCHAR, touch_mode VARCHAR, is_direct BOOLEAN)""")
        con.executemany("INSERT INTO touchpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", TOUCHES)
        con.execute("""CREATE TABLE conversions (conversion_id VARCHAR, customer_id VARCHAR, converted_at TIMESTAMPTZ,
                       business_date DATE, revenue DECIMAL(18, 2), previous_converted_at TIMESTAMPTZ)""")
        con.executemany("INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?)", CONVERSIONS)
    dbt_build(data_dir, AS_OF, select=["conversion_touches", "converted_paths", "conversion_paths",
                                       "markov_removal_effects", "attribution_by_path", "attribution_markov",
                                             "path:models/attribution/attribution.sql"], extra_vars=extra_vars)
    return data_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("attribution"))


def credits(data_dir: Path, conversion: str, lookback: int, mode: str) -> dict[str, dict[str | None, float]]:
    rows = query(data_dir, "SELECT model, touch_id, credit FROM attribution WHERE conversion_id = ? "
                           "AND lookback_days = ? AND touch_mode = ?", conversion, lookback, mode)
    out: dict[str, dict[str | None, float]] = {m: {} for m in MODELS}
    for model, touch, credit in rows:
        out[model][touch] = credit
    return out


def test_a_seven_day_view_path_gets_every_model_right(built):
    got = credits(built, "o1", 7, "view")
    # path: t1 wechat_ads click (7 days before), t3 app direct click, t4 paid_social view (same day);
    # t2 (a view 3 days before) is outside the 1-day view window; t8 happened at the order itself.
    assert got["first_touch"] == {"t1": 1.0}
    assert got["last_touch"] == {"t3": 1.0}                 # the click beats the later impression
    assert got["last_non_direct"] == {"t1": 1.0}            # clicks first, then not direct
    assert got["linear"] == pytest.approx({"t1": 1 / 3, "t3": 1 / 3, "t4": 1 / 3})
    assert got["position_based"] == pytest.approx({"t1": 0.4, "t3": 0.2, "t4": 0.4})
    ages = {"t1": 7 + 2 / 24, "t3": 3 / 24, "t4": 2 / 24}   # days from touch to order
    weights = {t: 0.5 ** (age / 7) for t, age in ages.items()}
    assert got["time_decay"] == pytest.approx({t: w / sum(weights.values()) for t, w in weights.items()})
    assert got["shapley"] == pytest.approx({"t1": 1 / 3, "t3": 1 / 3, "t4": 1 / 3})
    # Markov on this window's paths: wechat_ads > app > paid_social (1 conversion), push (1),
    # sms (open), paid_social (open). From the start each is entered with 1/4; paid_social
    # converts half the time, push always, sms never: P(conv) = (1/2 + 1 + 0 + 1/2) / 4 = 1/2.
    # Without wechat_ads (or app) P = 3/8, removal effect 1/4; without paid_social P = 1/4,
    # effect 1/2. So o1 splits 1/4 : 1/4 : 1/2.
    assert got["markov"] == pytest.approx({"t1": 0.25, "t3": 0.25, "t4": 0.5})


def test_time_decay_keeps_its_credits_when_every_touch_is_many_half_lives_old(tmp_path):
    """Weights are exact decimals, taken relative to the path's last touch: with a half-life of
    86.4 s every touch of o1 is over 80 half-lives before the order (2^-83 and less, below the
    decimals' 18 places), yet the credits are the hand-computed ones and sum to 1 (t1's, 2^-7083
    of t4's, is no credit: the table keeps credits above zero)."""
    data_dir = build(tmp_path, {"attribution_half_life_days": 0.001})
    got = credits(data_dir, "o1", 7, "view")["time_decay"]
    ages = {"t1": 7 * 86400 + 2 * 3600, "t3": 3 * 3600, "t4": 2 * 3600}   # seconds from touch to order
    weights = {t: 0.5 ** (age / 86.4) for t, age in ages.items()}
    assert got == pytest.approx({t: w / sum(weights.values()) for t, w in weights.items() if w > 0}, rel=1e-4,
                                abs=1e-17)
    assert got["t3"] > 0 and sum(got.values()) == pytest.approx(1.0)


def test_markov_removal_effects_equal_the_hand_computed_chain(built):
    effects = dict(query(built, "SELECT channel, removal_effect FROM markov_removal_effects "
                                "WHERE lookback_days = 7 AND touch_mode = 'view'"))
    assert effects == pytest.approx({"wechat_ads": 0.25, "app": 0.25, "paid_social": 0.5, "push": 0.5, "sms": 0.0})


def test_windows_count_business_days_back_from_the_order(built):
    # same day (0) and one day back (1): only the direct visit is a click; the view joins in view mode
    for lookback in (0, 1):
        assert credits(built, "o1", lookback, "click")["linear"] == {"t3": 1.0}
        assert credits(built, "o1", lookback, "view")["linear"] == pytest.approx({"t3": 0.5, "t4": 0.5})
    # three days back reaches t2's date, but t2 is a view older than the 1-day view window
    assert credits(built, "o1", 3, "view")["linear"] == pytest.approx({"t3": 0.5, "t4": 0.5})
    # seven days back reaches the ad click
    assert credits(built, "o1", 7, "click")["linear"] == pytest.approx({"t1": 0.5, "t3": 0.5})
    assert credits(built, "o1", 30, "click") == credits(built, "o1", 7, "click")


def test_a_path_restarts_after_each_order(built):
    # o2's 7-day window reaches back to t1, but o1 came in between: only the push counts
    for model, got in credits(built, "o2", 7, "view").items():
        assert got == {"t5": 1.0}, model


def test_an_order_without_touches_is_unattributed_in_every_model(built):
    rows = query(built, "SELECT DISTINCT model, channel, touch_id, credit, attributed_revenue FROM attribution "
                        "WHERE conversion_id = 'o3'")
    assert sorted(rows) == sorted((m, "unattributed", None, 1.0, 30.0) for m in MODELS)


def test_conversion_paths_hold_converting_and_open_journeys(built):
    rows = query(built, "SELECT touch_mode, path, conversions, non_conversions, revenue FROM conversion_paths "
                        "WHERE lookback_days = 7 ORDER BY touch_mode, path")
    assert [(m, p, c, n, float(r)) for m, p, c, n, r in rows] == [
        ("click", "push", 1, 0, 50.0),
        ("click", "sms", 0, 1, 0.0),                          # A's journey after the last order
        ("click", "unattributed", 1, 0, 30.0),
        ("click", "wechat_ads > app", 1, 0, 100.0),
        ("view", "paid_social", 0, 1, 0.0),                   # C's impression today, no order
        ("view", "push", 1, 0, 50.0),
        ("view", "sms", 0, 1, 0.0),
        ("view", "unattributed", 1, 0, 30.0),
        ("view", "wechat_ads > app > paid_social", 1, 0, 100.0),
    ]


def test_every_variant_attributes_exactly_the_net_revenue(built):
    rows = query(built, "SELECT model, lookback_days, touch_mode, sum(attributed_revenue), sum(credit) "
                        "FROM attribution GROUP BY ALL")
    assert len(rows) == len(MODELS) * 6 * 2
    for model, lookback, mode, revenue, total in rows:
        assert revenue == pytest.approx(180.0), (model, lookback, mode)
        assert total == pytest.approx(3.0), (model, lookback, mode)
