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
