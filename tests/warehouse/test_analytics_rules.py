"""The funnel and the experiment read-out on events and orders written by hand, with the
expected figures worked out by hand (strict step order, the window, contamination, lift and
its 95% interval). dbt builds only the marts over the hand-made tables (real dbt, real DuckDB)."""
from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.layout import Layout
from tests.warehouse.conftest import dbt_build, query

AS_OF = "2026-03-20"
Z = 1.959963984540054


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time in March 2026 (business dates here are the UTC dates: hours stay below 16)."""
    return datetime(2026, 3, day, hour, minute)


# (customer, time, source, channel, event_type, experiment_id, variant)
EVENTS = [
    # F1 goes all the way: visit, view, add, order (then refunded)
    ("F1", at(1, 2), "app", "app", "screen_viewed", None, None),
    ("F1", at(1, 2, 5), "app", "app", "product_viewed", None, None),
    ("F1", at(1, 2, 10), "app", "app", "product_added", None, None),
    # F2 adds before viewing: strict order stops the funnel at the view
    ("F2", at(1, 3), "web", "web", "page_viewed", None, None),
    ("F2", at(1, 3, 1), "web", "web", "product_added", None, None),
    ("F2", at(1, 3, 2), "web", "web", "product_viewed", None, None),
    # F3 views 8 days after the visit: outside the 7-day window (and that view is a new entry)
    ("F3", at(1, 4), "miniprogram", "mini_program", "page_viewed", None, None),
    ("F3", at(9, 4), "miniprogram", "mini_program", "product_viewed", None, None),
]
# experiment exp: control c1..c4, B b1..b4; x1 saw both (left out)
for person, variant in [("c1", "control"), ("c2", "control"), ("c3", "control"), ("c4", "control"),
                        ("b1", "B"), ("b2", "B"), ("b3", "B"), ("b4", "B"), ("x1", "control"), ("x1", "B")]:
    EVENTS.append((person, at(2, 2) if variant == "control" or person != "x1" else at(2, 3), "app", "app",
                   "experiment_viewed", "exp", variant))

# (order_id, customer, ordered_at, net_amount, refunded_at)
ORDERS = [
    ("o-f1", "F1", at(1, 5), 80.0, at(3, 2)),
    ("o-c1", "c1", at(3, 2), 100.0, None),
    ("o-c2-before", "c2", at(1, 2), 70.0, None),        # before exposure: not an outcome
    ("o-b1", "b1", at(3, 2), 50.0, None),
    ("o-b2", "b2", at(4, 2), 100.0, None),
    ("o-b3", "b3", at(10, 2), 150.0, None),
    ("o-b4-late", "b4", at(17, 2), 90.0, None),          # 15 days after exposure: outside 14
    ("o-x1", "x1", at(3, 2), 500.0, None),               # contaminated: not counted
    ("o-t1", "t1", at(6, 2), 40.0, None),                # audience treatment member, after entry
]
# (audience, as_of_date, customer, is_holdout)
MEMBERSHIP = [("vip", "2026-03-05", "t1", False), ("vip", "2026-03-05", "h1", True),
              ("vip", "2026-03-06", "t1", False), ("vip", "2026-03-20", "F1", False)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("analytics")
    Layout(data_dir).warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("""CREATE TABLE events (event_id VARCHAR, customer_id VARCHAR, occurred_at TIMESTAMP,
                       business_date DATE, source VARCHAR, channel VARCHAR, event_type VARCHAR,
                       experiment_id VARCHAR, variant VARCHAR)""")
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(f"e{k}", c, t, t.date(), s, ch, e, x, v) for k, (c, t, s, ch, e, x, v) in enumerate(EVENTS)])
        con.execute("""CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
                       business_date DATE, status VARCHAR, net_amount DECIMAL(18, 2), refund_amount DECIMAL(18, 2),
                       refunded_at TIMESTAMP)""")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(o, c, t, t.date(), "refunded" if r else "completed", n, n if r else 0, r)
                         for o, c, t, n, r in ORDERS])
        con.execute("CREATE TABLE audience_membership (audience VARCHAR, as_of_date DATE, customer_id VARCHAR, "
                    "is_holdout BOOLEAN)")
        con.executemany("INSERT INTO audience_membership VALUES (?, ?, ?, ?)", MEMBERSHIP)
    dbt_build(data_dir, AS_OF, select=["funnel_steps", "funnel_daily", "experiment_exposures", "experiment_results"])
    return data_dir


def test_the_funnel_keeps_strict_order_within_the_window(built):
    rows = query(built, "SELECT entry_date::VARCHAR, channel, audience, visits, product_viewed, product_added, "
                        "ordered, refunded, window_complete FROM funnel_daily "
                        "WHERE channel <> 'app' OR entry_date = '2026-03-01' ORDER BY ALL")
    assert rows == [
        ("2026-03-01", "app", "all", 1, 1, 1, 1, 1, True),           # F1: every step
        ("2026-03-01", "app", "vip", 1, 1, 1, 1, 1, True),           # F1 is in `vip` tonight
        ("2026-03-01", "mini_program", "all", 1, 0, 0, 0, 0, True),  # F3: the view came too late
        ("2026-03-01", "web", "all", 1, 1, 0, 0, 0, True),           # F2: added before viewing
        ("2026-03-09", "mini_program", "all", 1, 0, 0, 0, 0, True),  # F3's view opens its own day
    ]


def lift(p1: float, n1: int, p0: float, n0: int) -> tuple[float, float, float]:
    d = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return d, d - Z * se, d + Z * se


def test_experiment_lift_and_its_interval(built):
    rows = {v: r for v, *r in query(built, """
        SELECT variant, customers, converters, conversion_rate, revenue_per_customer, conversion_lift,
               conversion_lift_low, conversion_lift_high, conversion_relative_lift, conversion_relative_lift_low,
               revenue_lift, revenue_lift_low, revenue_lift_high, is_control
        FROM experiment_results WHERE experiment_id = 'exp'""")}
    assert set(rows) == {"control", "B"}                         # x1 saw both: left out
    control, b = rows["control"], rows["B"]
    assert control[:2] == [4, 1] and b[:2] == [4, 3] and control[-1] and not b[-1]
    d, low, high = lift(0.75, 4, 0.25, 4)
    assert b[4:7] == pytest.approx([d, low, high])
    log_se = math.sqrt((1 - 0.75) / (4 * 0.75) + (1 - 0.25) / (4 * 0.25))
    assert b[7:9] == pytest.approx([2.0, math.exp(math.log(3) - Z * log_se) - 1])
    revenue_b, revenue_c = [50, 100, 150, 0], [100, 0, 0, 0]     # b4's order came after 14 days
    assert b[3] == pytest.approx(75.0) and control[3] == pytest.approx(25.0)
    se = math.sqrt(statistics.variance(revenue_b) / 4 + statistics.variance(revenue_c) / 4)
    assert b[9:12] == pytest.approx([50.0, 50.0 - Z * se, 50.0 + Z * se])
    assert control[4:12] == [None] * 8                             # no comparison with itself


def test_audience_holdouts_are_experiments_from_the_first_night(built):
    rows = query(built, "SELECT variant, customer_id, exposed_at FROM experiment_exposures "
                        "WHERE experiment_id = 'audience:vip' ORDER BY customer_id")
    # exposed at the end of 2026-03-05 in Asia/Shanghai = 16:00 UTC that day
    end = datetime(2026, 3, 5, 16)
    assert rows == [("treatment", "F1", datetime(2026, 3, 20, 16)), ("holdout", "h1", end), ("treatment", "t1", end)]
    results = {v: (n, k) for v, n, k in query(built, "SELECT variant, customers, converters FROM experiment_results "
                                                     "WHERE experiment_id = 'audience:vip'")}
    assert results == {"treatment": (2, 1), "holdout": (1, 0)}
    assert timedelta(0) < (datetime(2026, 3, 6, 2) - end)          # t1's order came after exposure
