"""A trait group over `events` is built from customer-day parts (pipelines/lib/specs/trait_parts.py);
it must give exactly what aggregating the events directly gives (`group_sql`, the direct form
the orders group still uses), for every kind of trait, filter and window.

Real dbt over a copy of the month's warehouse, in a copy of the project whose traits.yml gains a
group with one trait of each kind; the direct form is built beside it as a model of its own."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.lib.layout import Layout
from pipelines.lib.specs import compile_project, load_specs
from pipelines.lib.specs.traits import group_sql
from pipelines.lib.warehouse.dbt import PROJECT_DIR
from tests.warehouse.conftest import dbt_build
from tests.warehouse.test_incremental import LAST


PRODUCT_VIEWED = {"column": "event_type", "eq": "product_viewed"}
EVERY_KIND = {
    "description": "One trait of each kind, for the test.",
    "from": "events",
    "where": {"column": "source", "ne": "crm"},
    "traits": {
        "x_events": {"type": "count"},
        "x_views_30d": {"type": "count", "where": PRODUCT_VIEWED, "window": {"last": "30d"}},
        "x_events_between": {"type": "count", "window": {"between": ["20d", "7d"]}},
        "x_active_days": {"type": "unique_count", "of": "business_date"},
        "x_view_days_14d": {"type": "unique_count", "of": "business_date", "where": PRODUCT_VIEWED,
                            "window": {"last": "14d"}},
        "x_products_30d": {"type": "unique_count", "of": "product_id", "window": {"last": "30d"}},
        "x_amount": {"type": "sum", "of": "amount"},
        "x_amount_7d": {"type": "sum", "of": "amount", "window": {"last": "7d"}},
        "x_avg_discount": {"type": "avg", "of": "discount_rate"},
        "x_avg_amount_30d": {"type": "avg", "of": "amount", "window": {"last": "30d"}},
        "x_min_amount": {"type": "min", "of": "amount"},
        "x_max_product": {"type": "max", "of": "product_id", "window": {"last": "30d"}},
        "x_first_seen": {"type": "first", "of": "occurred_at"},
        "x_first_product": {"type": "first", "of": "product_id"},
        "x_last_product_7d": {"type": "last", "of": "product_id", "where": PRODUCT_VIEWED, "window": {"last": "7d"}},
        "x_last_channel_by_source": {"type": "last", "of": "channel", "order_by": ["source", "occurred_at"]},
        "x_top_channel": {"type": "most_frequent", "of": "channel"},
        "x_top_product_30d": {"type": "most_frequent", "of": "product_id", "window": {"last": "30d"}},
        "x_stores": {"type": "unique_list", "of": "store_id"},
        "x_rooms_30d": {"type": "unique_list", "of": "room_id", "where": {"column": "source", "eq": "live"},
                        "window": {"last": "30d"}},
        "x_days_since": {"type": "days_since"},
        "x_days_since_view": {"type": "days_since", "where": PRODUCT_VIEWED},
        "x_days_since_event_time": {"type": "days_since", "of": "occurred_at", "window": {"last": "30d"}},
    },
}


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, root, ignore=shutil.ignore_patterns("target", "logs", "generated"))
    traits = root / "specs" / "traits.yml"
    doc = yaml.safe_load(traits.read_text())
    doc["groups"]["every_kind"] = EVERY_KIND
    traits.write_text(yaml.safe_dump(doc, sort_keys=False))
    compile_project(root)
    [group] = [g for g in load_specs(root).groups if g.name == "every_kind"]
    (root / "models" / "traits" / "every_kind_direct.sql").write_text(
        "{{ config(materialized='table') }}\n" + group_sql(group))
    return root


def _compare(data_dir: Path) -> tuple[int, int, list[int], dict[str, int]]:
    """(customers, with a 30-day top product, [rows only from parts, rows only direct], values per trait)."""
    names = list(EVERY_KIND["traits"])
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        doubles = {c for c, t in con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                              "WHERE table_name = 'traits_every_kind'").fetchall() if t == "DOUBLE"}
        # an average is a division of exact sums either way; compared to 12 significant digits
        select = ", ".join(f"printf('%.12g', {c})" if c in doubles else c for c in ["customer_id", *names])
        [(customers, with_values)] = con.execute(
            "SELECT count(*), count(x_top_product_30d) FROM traits_every_kind").fetchall()
        only = [con.execute(f"SELECT count(*) FROM (SELECT {select} FROM {a} EXCEPT ALL SELECT {select} FROM {b})")
                .fetchone()[0] for a, b in (("traits_every_kind", "every_kind_direct"),
                                            ("every_kind_direct", "traits_every_kind"))]
        filled = {n: con.execute(f"SELECT count({n}) FROM traits_every_kind").fetchone()[0] for n in names}
    return customers, with_values, only, filled


def test_every_kind_of_trait_from_customer_day_parts_equals_the_direct_aggregate(month_copy, project):
    data_dir, _ = month_copy
    dbt_build(data_dir, LAST.isoformat(), project, select=[
        "traits_every_kind_days", "traits_every_kind_lifetime", "traits_every_kind_day_values", "traits_every_kind",
        "every_kind_direct"])
    names = list(EVERY_KIND["traits"])
    customers, with_values, only, filled = _compare(data_dir)
    assert customers > 1000 and 0 < with_values < customers
    assert only == [0, 0]
    # every trait has values to compare (a kind the world never exercises proves nothing)
    assert all(filled[n] > 0 for n in names), filled
    assert {n for n in names if filled[n] < customers} >= {"x_top_product_30d", "x_first_product", "x_avg_discount"}

    # an earlier night built again over the same parts: most customers have days after it, so
    # their lifetime traits come from their days up to it, not from `_lifetime`
    earlier = LAST - timedelta(days=10)
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        [(later, lifetime_rows)] = con.execute("SELECT count(*) FILTER (WHERE last_day > ?), count(*) "
                                               "FROM traits_every_kind_lifetime", [earlier]).fetchall()
    assert lifetime_rows == customers and 0 < later < customers
    dbt_build(data_dir, earlier.isoformat(), project, select=["traits_every_kind", "every_kind_direct"])
    customers_then, _, only, filled = _compare(data_dir)
    assert only == [0, 0]
    assert customers - later <= customers_then < customers and filled["x_days_since"] == customers_then
