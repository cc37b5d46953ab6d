"""Proof that incremental nights equal a full refresh.

The tables a night updates instead of rebuilding (dbt tag `incremental`: the staging tables,
`events`, `touchpoints`) are built again from the whole lake, as of the same night, into an empty
scratch warehouse with everything they are derived from, and compared with the working ones
row for row (EXCEPT ALL both ways: duplicates count). Costs one full read of the lake, so it runs
on demand or weekly (`incremental_audit` job), never inside a night.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.settings import Settings

TAG = "incremental"


@dataclass(frozen=True)
class Difference:
    table: str
    only_incremental: int   # rows the working table has and a full refresh would not
    only_full_refresh: int  # rows a full refresh would have and the working table lacks

    def describe(self) -> str:
        return (f"{self.table}: {self.only_incremental} row(s) only in the incremental table, "
                f"{self.only_full_refresh} only in a full refresh")


class NothingToCompare(Exception):
    """The incremental tables cannot be compared yet (never built, or built for different nights)."""


def built_night(warehouse: Path) -> date:
    """The night the incremental tables were last built for; NothingToCompare when they were
    never built or disagree (one failed to load: run the night again)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'delivery_loads'").fetchone()[0]:
            raise NothingToCompare("no incremental table was built yet")
        nights = dict(con.execute("SELECT model, max(as_of_date) FROM delivery_loads GROUP BY 1").fetchall())
    if not nights:
        raise NothingToCompare("no incremental table was built yet")
    if len(set(nights.values())) > 1:
        raise NothingToCompare("the incremental tables were last built for different nights ("
                               + ", ".join(f"{m} {d}" for m, d in sorted(nights.items())) + "): run the night again")
    return next(iter(nights.values()))


def full_refresh_differences(settings: Settings) -> tuple[date, list[Difference]]:
    """(night compared, differing tables). Compares with the lake as it is now: run it after a
    night's build, not between a re-ingestion and its build. Raises NothingToCompare, or with
    dbt's log when the rebuild fails."""
    from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, build_vars, night_env

    layout = Layout(settings.data_dir)
    night = built_night(layout.warehouse)
    layout.staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="full-refresh-", dir=layout.staging) as tmp:
        scratch = Path(tmp)
        (scratch / "warehouse").mkdir()
        (scratch / "lake").symlink_to(layout.lake.resolve())
        done = subprocess.run(
            [str(DBT), "build", "--select", f"+tag:{TAG}", "--resource-type", "model", "--resource-type", "seed",
             "--vars", build_vars(replace(settings, data_dir=scratch), spill=f"audit-{os.getpid()}"),
             "--project-dir", str(PROJECT_DIR),
             "--profiles-dir", str(PROJECT_DIR), "--target-path", str(scratch / "dbt")],
            cwd=PROJECT_DIR, capture_output=True, text=True,
            env={**os.environ, **night_env(settings, night)})
        if done.returncode != 0:
            raise RuntimeError(f"the full-refresh rebuild failed:\n{done.stdout[-4000:]}")
        nodes = json.loads((scratch / "dbt" / "manifest.json").read_text())["nodes"]
        tables = [r["unique_id"].split(".")[-1] for r in
                  json.loads((scratch / "dbt" / "run_results.json").read_text())["results"]
                  if TAG in nodes[r["unique_id"]]["tags"]]
        with duckdb.connect() as con:
            con.execute(f"ATTACH '{layout.warehouse}' AS incremental (READ_ONLY)")
            con.execute(f"ATTACH '{scratch / 'warehouse' / 'cdp.duckdb'}' AS full_refresh (READ_ONLY)")
            differences = []
            for table in sorted(tables):
                # by name: a column a later version added (dbt's `sync_all_columns`) comes last
                # in a table built before it, wherever the model puts it
                columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'full_refresh' "
                    "AND table_name = ? ORDER BY column_index", [table]).fetchall())
                [(ours,)] = con.execute(f"SELECT count(*) FROM (SELECT {columns} FROM incremental.{table} "
                                        f"EXCEPT ALL SELECT {columns} FROM full_refresh.{table})").fetchall()
                [(theirs,)] = con.execute(f"SELECT count(*) FROM (SELECT {columns} FROM full_refresh.{table} "
                                          f"EXCEPT ALL SELECT {columns} FROM incremental.{table})").fetchall()
                if ours or theirs:
                    differences.append(Difference(table, ours, theirs))
    return night, differences
