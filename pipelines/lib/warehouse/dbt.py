"""How the pipeline drives dbt: the project's paths, its manifest, and the vars of a night.

Dagster needs the dbt manifest to define assets, so it is parsed on import when missing or older
than any file of the project (under a file lock: test workers import in parallel). The trait and
audience specs are compiled into models first, so a spec error stops everything before dbt runs.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

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


def build_args(settings: Settings, run_date: date | str, full_refresh: bool = False) -> list[str]:
    """`dbt build` for one night; `full_refresh` reloads every delivery into the incremental tables."""
    return ["build", *(["--full-refresh"] if full_refresh else []), "--vars", night_vars(settings, run_date)]


def night_vars(settings: Settings, run_date: date | str) -> str:
    """dbt's `--vars` for one night: which data directory, which night, which time zone, limits
    and spill directory, and the last night every gate passed (the drift gates' reference)."""
    from pipelines.lib.layout import Layout
    from pipelines.lib.publish.snapshot import published_night

    reference = published_night(Layout(settings.data_dir))
    settings.spill_dir.mkdir(parents=True, exist_ok=True)
    return json.dumps({
        "data_dir": str(settings.data_dir),
        "as_of_date": str(run_date),
        "business_tz": settings.timezone,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "duckdb_threads": str(settings.duckdb_threads),
        # a folder of this process's own: an audit's dbt may run beside a night's
        "duckdb_temp_directory": str(settings.spill_dir / f"dbt-{os.getpid()}"),
        **({"gate_reference_date": str(reference)} if reference else {}),
    })


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
            env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
            done = subprocess.run(
                [str(DBT), "parse", "--quiet", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
                cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
    return MANIFEST
