"""Figures about a built warehouse, read after dbt finished (DuckDB allows one writer at a time)."""
from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.lib.identity.evaluation import score


def table_row_counts(warehouse: Path, tables: list[str]) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables if t in present}


def identity_figures(warehouse: Path, truth_dir: Path | None, run_date: str) -> dict[str, int | float]:
    """What identity resolution did tonight; scored against the truth when the data is synthetic."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        figures = dict(con.execute("""
            SELECT 'identifiers/' || status, count(*) FROM identity_identifiers GROUP BY status
        """).fetchall())
        [[customers, largest, split, anonymous_events, anonymous_orders]] = con.execute("""
            SELECT (SELECT count(*) FROM customers),
                (SELECT max(n) FROM (SELECT count(*) AS n FROM identity_resolution GROUP BY customer_id)),
                (SELECT count(DISTINCT component_id) FROM identity_resolution WHERE split_type IS NOT NULL),
                (SELECT count(*) FROM events WHERE customer_id = 'anonymous'),
                (SELECT count(*) FROM orders WHERE customer_id = 'anonymous')
        """).fetchall()
    figures.update({"customers": customers, "largest_customer_identifiers": largest or 0,
                    "components_split_by_limits": split, "anonymous_events": anonymous_events,
                    "anonymous_orders": anonymous_orders})
    if truth_dir is not None and (truth_dir / "identifiers.parquet").exists():
        figures.update(score(warehouse, truth_dir, run_date).as_metadata())
    return figures


def audience_figures(warehouse: Path, as_of: str, audiences: list[str]) -> dict[str, dict[str, int]]:
    """Per audience tonight: size, holdout, entered and exited since the previous night."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""
            SELECT a.audience,
                (SELECT count(*) FROM audience_membership m WHERE m.audience = a.audience AND m.as_of_date = ?),
                (SELECT count(*) FROM audience_membership m WHERE m.audience = a.audience AND m.as_of_date = ?
                 AND m.is_holdout),
                (SELECT count(*) FROM audience_changes c WHERE c.audience = a.audience AND c.as_of_date = ?
                 AND c.change = 'entered'),
                (SELECT count(*) FROM audience_changes c WHERE c.audience = a.audience AND c.as_of_date = ?
                 AND c.change = 'exited')
            FROM (SELECT unnest(?::VARCHAR[]) AS audience) a
        """, [as_of, as_of, as_of, as_of, audiences]).fetchall()
    return {name: {"size": size, "holdout": holdout, "entered": entered, "exited": exited}
            for name, size, holdout, entered, exited in rows}


def trait_figures(warehouse: Path, as_of: str) -> dict[str, object]:
    """Tonight's customers with traits, and how they spread over lifecycle stages and RFM segments."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        customers = con.execute("SELECT count(*) FROM customer_traits WHERE as_of_date = ?", [as_of]).fetchone()[0]
        stages = dict(con.execute("SELECT lifecycle_stage, count(*) FROM customer_traits WHERE as_of_date = ? "
                                  "GROUP BY ALL ORDER BY ALL", [as_of]).fetchall())
        segments = dict(con.execute("SELECT coalesce(rfm_segment, 'no orders'), count(*) FROM customer_traits "
                                    "WHERE as_of_date = ? GROUP BY ALL ORDER BY ALL", [as_of]).fetchall())
        moves = dict(con.execute("SELECT coalesce(from_stage, 'new') || ' -> ' || to_stage, count(*) "
                                 "FROM lifecycle_transitions WHERE as_of_date = ? GROUP BY ALL ORDER BY ALL",
                                 [as_of]).fetchall())
    return {"dagster/row_count": customers, "lifecycle_stages": stages, "rfm_segments": segments,
            "lifecycle_transitions": moves}
