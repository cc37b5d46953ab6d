"""Real `dbt build` runs on real DuckDB files, over lakes written by real ingestion."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.specs import compile_project
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR
from pipelines.settings import Settings
from tests.conftest import pristine_month


def dbt_build(data_dir: Path, run_date: str, project_dir: Path = PROJECT_DIR, select: list[str] | None = None,
              extra_vars: dict | None = None, expect_failure: bool = False, command: str = "build") -> str:
    """`dbt build` (or another `command`) as of `run_date` over `data_dir`'s lake (only the
    `select`ed nodes, when given: the others must exist in the warehouse); returns dbt's output,
    fails with it (or, with `expect_failure`, when it succeeds)."""
    compile_project(project_dir)                  # the trait and audience models, from the specs
    (data_dir / "warehouse").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(DBT), command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--target-path", str(data_dir / "warehouse" / "dbt"),
         "--vars", json.dumps({"data_dir": str(data_dir), **(extra_vars or {})}),
         *(["--select", *select] if select else [])],
        cwd=project_dir, capture_output=True, text=True,
        env={**os.environ, "CDP_AS_OF_DATE": run_date})
    assert (done.returncode != 0) == expect_failure, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def query(data_dir: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(Layout(data_dir).warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.fixture
def month_copy(ingested_month, tmp_path_factory, tmp_path) -> tuple[Path, Settings]:
    """A copy of the month after its last night (lake, warehouse, published outputs), to break.
    Copied from the month as its nights left it, not from this worker's copy: a rerun of the last
    night in place (an erasure night, which starts a new build chain) changes what the next night
    can copy by customer-day."""
    _, settings, _ = ingested_month
    data_dir = tmp_path / "copy"
    shutil.copytree(pristine_month(tmp_path_factory), data_dir, ignore=shutil.ignore_patterns(".dagster", ".staging"))
    return data_dir, Settings(data_dir=data_dir, duckdb_memory_limit=settings.duckdb_memory_limit,
                              duckdb_threads=settings.duckdb_threads, timezone=settings.timezone)
