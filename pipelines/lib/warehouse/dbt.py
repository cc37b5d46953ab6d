"""How the pipeline drives dbt: the project's paths, its manifest, and the vars of a night.

Dagster needs the dbt manifest to define assets, so it is parsed on import when missing or older
than any file of the project (under a file lock: test workers import in parallel). The trait and
audience specs are compiled into models first, so a spec error stops everything before dbt runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pipelines.lib.layout import Layout
from pipelines.lib.specs import compile_project
from pipelines.settings import REPO_ROOT, Settings

PROJECT_DIR = REPO_ROOT / "dbt_project"
MANIFEST = PROJECT_DIR / "target" / "manifest.json"
DBT = Path(sys.executable).parent / "dbt"
# The run tag that makes a night's build a full refresh (`cdp run --full-refresh`).
FULL_REFRESH_TAG = "cdp/full_refresh"
# What erasure needs built as of the night before it can say who a member is.
IDENTITY_SELECTION = "+identity_resolution"
_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "specs")


def build_args(settings: Settings, *, full_refresh: bool = False) -> list[str]:
    """`dbt build` of the warehouse (the night comes from `night_env`); `full_refresh` reloads
    every delivery into the incremental tables."""
    return ["build", *(["--full-refresh"] if full_refresh else []), "--vars", build_vars(settings)]


def build_vars(settings: Settings, spill: str = "dbt") -> str:
    """dbt's `--vars`: which data directory, time zone, limits and spill directory (`spill`, a
    folder of `settings.spill_dir`: a dbt that may run beside the nightly build, an audit's,
    names its own). The same every night, so dbt re-parses only what changed in the project:
    the night itself goes in the environment (`night_env`)."""
    settings.spill_dir.mkdir(parents=True, exist_ok=True)
    return json.dumps({
        "data_dir": str(settings.data_dir),
        "business_tz": settings.timezone,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "duckdb_threads": str(settings.duckdb_threads),
        "duckdb_temp_directory": str(settings.spill_dir / spill),
    })


def night_env(settings: Settings, run_date: date | str) -> dict[str, str]:
    """The environment of a dbt build for one night: the night (`CDP_AS_OF_DATE`, macros/lake.sql)
    and the last night every gate passed (`CDP_GATE_REFERENCE_DATE`, the drift gates' reference;
    empty before the first published night)."""
    from pipelines.lib.layout import Layout
    from pipelines.lib.publish.snapshot import published_night

    reference = published_night(Layout(settings.data_dir))
    return {"CDP_AS_OF_DATE": str(run_date), "CDP_GATE_REFERENCE_DATE": str(reference) if reference else ""}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in this process's environment for the block, as before after it: dagster-dbt
    starts dbt with a copy of the process's environment and takes no environment of its own."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def warehouse_target(layout: Layout, project_dir: Path = PROJECT_DIR) -> Path:
    """dbt's target folder for the warehouse's builds (`Layout.dbt_target`: logs, results, the
    parse state kept from night to night), ready for a build. dbt's partial parse keeps each node's absolute
    path and checks file contents only, so a project checked out somewhere else (a release
    deployed to a new directory) would go on reading its seeds from the old checkout, or fail
    once that is gone: the parse state of another project directory is dropped first."""
    target = layout.dbt_target
    target.mkdir(parents=True, exist_ok=True)
    parsed_from = target / "project_dir"
    if not parsed_from.exists() or parsed_from.read_text() != str(project_dir):
        (target / "partial_parse.msgpack").unlink(missing_ok=True)
        parsed_from.write_text(str(project_dir))
    return target


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCES:
        path = PROJECT_DIR / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def ensure_manifest() -> Path:
    """Parse the project if its manifest is missing or stale; return the manifest's path."""
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        compile_project(PROJECT_DIR)
        if not MANIFEST.exists() or MANIFEST.stat().st_mtime < _newest_source_mtime():
            done = subprocess.run(
                [str(DBT), "parse", "--quiet", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
                cwd=PROJECT_DIR, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
    return MANIFEST
