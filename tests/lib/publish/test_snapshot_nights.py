"""A history table in the analyst snapshot is brought up to date night by night, and copied whole
when its rows per night show that something besides the nightly builds wrote it; a view is
carried only while nothing beneath it changed."""
from __future__ import annotations

from datetime import date

import duckdb

from pipelines.lib.publish.snapshot import _copy_nights, _same_columns, _view_builds

D1, D2, D3, D4 = (date(2026, 3, d) for d in (1, 2, 3, 4))


def _databases(published: list[tuple], warehouse: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, rows in (("s", published), ("w", warehouse)):
        con.execute(f"ATTACH ':memory:' AS {name}")
        con.execute(f"CREATE TABLE {name}.traits (customer_id VARCHAR, as_of_date DATE, orders BIGINT)")
        con.executemany(f"INSERT INTO {name}.traits VALUES (?, ?, ?)", rows)
    return con


def _rows(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {database}.traits ORDER BY ALL").fetchall()


def test_the_nights_built_since_are_copied_again_and_the_forgotten_ones_dropped():
    published = [("c1", D1, 1), ("c1", D2, 1), ("c2", D2, 5), ("c1", D3, 0)]
    # since: D1 forgotten (history window), D3 rebuilt (a rerun: c1 now has 2 orders), D4 built
    warehouse = [("c1", D2, 1), ("c2", D2, 5), ("c1", D3, 2), ("c2", D3, 5), ("c1", D4, 2)]
    con = _databases(published, warehouse)
    assert _same_columns(con, "traits")
    assert _copy_nights(con, "traits", [D3, D4])
    assert _rows(con, "s") == _rows(con, "w")


def test_a_night_changed_outside_the_build_log_is_refused():
    published = [("c1", D1, 1), ("c2", D1, 1), ("c1", D2, 1)]
    warehouse = [("c1", D1, 1), ("c1", D2, 1), ("c1", D3, 1)]  # c2 deleted from D1 by hand
    con = _databases(published, warehouse)
    assert not _copy_nights(con, "traits", [D3])


def test_a_row_moved_to_another_night_outside_the_build_log_is_refused():
    published = [("c1", D1, 1), ("c2", D1, 1)]
    warehouse = [("c1", D1, 1), ("c2", D2, 1)]  # c2's row moved to D2 by hand: as many rows as before
    con = _databases(published, warehouse)
    assert not _copy_nights(con, "traits", [D3])


def test_a_new_column_means_a_whole_copy():
    con = _databases([("c1", D1, 1)], [("c1", D1, 1)])
    con.execute("ALTER TABLE w.traits ADD COLUMN visits BIGINT")
    assert not _same_columns(con, "traits")


def test_a_view_changes_its_build_when_anything_beneath_it_does():
    nodes = [{"name": "touchpoints", "depends_on": {"nodes": ["model.cdp.customer_touchpoints"]}},
             {"name": "recent_touchpoints", "depends_on": {"nodes": ["model.cdp.touchpoints"]}},
             {"name": "stg_events", "depends_on": {"nodes": ["source.cdp.lake.events"]}},
             {"name": "touch_modes"}]                                 # a seed reads nothing
    views = {"touchpoints", "recent_touchpoints", "stg_events"}
    builds = {"touchpoints": "b1", "recent_touchpoints": "b1", "stg_events": "b1", "customer_touchpoints": "b1"}
    before = _view_builds(nodes, builds, views)
    assert set(before) == {"touchpoints", "recent_touchpoints"}         # a lake source has no build id
    after = _view_builds(nodes, {**builds, "customer_touchpoints": "b2"}, views)
    assert after["touchpoints"] != before["touchpoints"]
    assert after["recent_touchpoints"] != before["recent_touchpoints"]  # through the view beneath it
    assert _view_builds(nodes, builds, views) == before                # the same builds, the same id
    assert "touchpoints" not in _view_builds(nodes, {**builds, "customer_touchpoints": None}, views)
