"""Memory discipline: the limit, threads and spill directory of the configuration reach DuckDB
inside dbt (as the warehouse build passes them) and inside ingestion."""
from __future__ import annotations

import json
import os
import subprocess

import duckdb

from pipelines.lib.ingest.delivery import connect
from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, build_vars
from pipelines.settings import Settings


def test_dbt_runs_with_the_configured_memory_limit_threads_and_spill_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_DUCKDB_MEMORY_LIMIT", "1500MB")
    monkeypatch.setenv("CDP_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CDP_DUCKDB_SPILL_DIR", str(tmp_path / "spill"))
    settings = Settings.from_env(tmp_path / "data")
    (settings.data_dir / "warehouse").mkdir(parents=True)
    night = build_vars(settings)
    assert (tmp_path / "spill").is_dir()        # created before dbt needs it
    done = subprocess.run(
        [str(DBT), "show", "--inline", "select current_setting('memory_limit') as memory, "
         "current_setting('threads') as threads, current_setting('temp_directory') as spill",
         "--vars", night, "--output", "json", "--log-format", "json",
         "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
         "--target-path", str(tmp_path / "target")],
        cwd=PROJECT_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    shown = next(json.loads(line)["data"]["preview"] for line in done.stdout.splitlines()
                 if '"preview"' in line)
    [row] = json.loads(shown) if isinstance(shown, str) else shown
    assert row == {"memory": "1.3 GiB", "threads": 1, "spill": str(tmp_path / "spill" / "dbt")}


def test_ingestion_spills_where_configured_and_under_the_data_directory_by_default(tmp_path):
    layout = Layout(tmp_path)
    with connect(layout, "500MB", 1) as con:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == \
            str(tmp_path / ".staging" / "duckdb_spill" / f"ingest-{os.getpid()}")
    assert Settings(data_dir=tmp_path).spill_dir == tmp_path / ".staging" / "duckdb_spill"
    with connect(layout, "500MB", 1, tmp_path / "elsewhere") as con:
        assert con.execute("SELECT current_setting('temp_directory'), current_setting('memory_limit')"
                           ).fetchone() == (str(tmp_path / "elsewhere" / f"ingest-{os.getpid()}"), "476.8 MiB")


def test_a_build_that_spills_goes_on_to_the_next_model(tmp_path):
    """A model that outgrows the memory limit spills; the next model opens a new cursor, which
    must not try to set the spill directory again (DuckDB refuses once it was used)."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: spill\nversion: '1.0.0'\nconfig-version: 2\nprofile: cdp\n"
                                             "models:\n  spill:\n    +materialized: table\n")
    (project / "profiles.yml").write_text((PROJECT_DIR / "profiles.yml").read_text())
    (project / "models" / "big_sort.sql").write_text(
        "select i, md5(i::varchar) as h from range(3000000) t(i) order by h")
    (project / "models" / "after.sql").write_text("select count(*) as n from {{ ref('big_sort') }}")
    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="64MB", duckdb_threads=1)
    (settings.data_dir / "warehouse").mkdir(parents=True)
    done = subprocess.run(
        [str(DBT), "run", "--vars", build_vars(settings), "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"), "--threads", "1"],
        cwd=project, capture_output=True, text=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(settings.data_dir / "warehouse" / "cdp.duckdb"), read_only=True) as con:
        assert con.execute("SELECT n FROM after").fetchone() == (3000000,)
