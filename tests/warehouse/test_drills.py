"""Reliability drills on a copy of the month after its last night: something breaks during a
night, the night fails saying what broke, and consumers keep yesterday's published outputs,
byte for byte."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pipelines.settings import Settings
from tests.warehouse.test_month import LAST_NIGHT

pytestmark = pytest.mark.xdist_group("month")


def published_state(data_dir: Path) -> dict[str, str]:
    """Every published file (manifests included) -> its SHA-256."""
    root = data_dir / "published"
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def month_copy(ingested_month, tmp_path) -> tuple[Path, Settings]:
    source, settings, _ = ingested_month
    data_dir = tmp_path / "copy"
    shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns(".dagster", ".staging"))
    return data_dir, Settings(data_dir=data_dir, duckdb_memory_limit=settings.duckdb_memory_limit,
                              duckdb_threads=settings.duckdb_threads, timezone=settings.timezone)


def test_a_corrupt_lake_file_fails_the_night_by_name_and_publishes_nothing(month_copy, monkeypatch):
    from pipelines.runner import run_night

    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    before = published_state(data_dir)
    assert any(name.endswith("members.parquet") for name in before) and "cdp.duckdb" in before
    # an earlier night's partition is cut short (a disk error, a bad copy): the build reads it
    victim = sorted((data_dir / "lake" / "app" / "events").glob("delivery_date=*/part-0.parquet"))[3]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])

    night = run_night(LAST_NIGHT, settings)

    assert not night.success
    explanation = night.explain()
    assert f"Night {LAST_NIGHT} failed" in explanation
    assert victim.parent.name in explanation and "part-0.parquet" in explanation, explanation
    assert published_state(data_dir) == before                 # yesterday's outputs, byte for byte
    scratch = data_dir / ".staging" / "publish"
    assert not scratch.exists() or not any(scratch.iterdir())   # no half-written folder left behind


def manifest_files(data_dir: Path) -> dict[str, list]:
    """Published folder -> its files' names, rows and SHA-256s (what a rerun must reproduce)."""
    root = data_dir / "published"
    return {p.parent.relative_to(root).as_posix(): [(f["name"], f["rows"], f["sha256"])
                                                   for f in json.loads(p.read_text())["files"]]
            for p in sorted(root.rglob("_manifest.json")) if "reports" not in p.parts}


def snapshot_differences(a: Path, b: Path) -> dict[str, int]:
    """Table -> rows in one snapshot and not the other (both ways), over every table.

    Floating-point columns are compared to 1e-6: DuckDB sums doubles in parallel, so their
    last bits may differ between builds; every key, list, tie-break and decimal must be equal.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    tables = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name IN ('a', 'b') AND table_name <> '_snapshot'"
    ).fetchall()}
    differences = {}
    for table in sorted(tables):
        columns = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'a' AND table_name = ? "
            "ORDER BY column_index", [table]).fetchall()
        if not columns:
            differences[table] = -1                      # missing on one side
            continue
        select = ", ".join(f'round("{c}", 6)' if kind in ("DOUBLE", "FLOAT") else f'"{c}"' for c, kind in columns)
        [(extra,)] = con.execute(
            f'SELECT count(*) FROM (SELECT {select} FROM a."{table}" EXCEPT ALL SELECT {select} FROM b."{table}")'
        ).fetchall()
        [(missing,)] = con.execute(
            f'SELECT count(*) FROM (SELECT {select} FROM b."{table}" EXCEPT ALL SELECT {select} FROM a."{table}")'
        ).fetchall()
        if extra or missing:
            differences[table] = extra + missing
    return differences


def test_a_night_killed_midway_leaves_no_half_output_and_a_rerun_restores_it(month_copy):
    import os
    import signal
    import subprocess
    import sys
    import time

    data_dir, _ = month_copy
    cdp = Path(sys.executable).parent / "cdp"
    env = {**os.environ, "CDP_DAGSTER_STORAGE": str(data_dir / ".dagster")}
    snapshot = data_dir / "published" / "cdp.duckdb"
    backfill_build = shutil.copy(snapshot, data_dir.parent / "backfill.duckdb")
    # the uninterrupted run of the night to compare with
    plain = subprocess.run([str(cdp), "run", "--data-dir", str(data_dir), "--date", str(LAST_NIGHT)], env=env,
                           capture_output=True, text=True, timeout=1200)
    assert plain.returncode == 0, plain.stderr[-3000:]
    before, published = manifest_files(data_dir), published_state(data_dir)
    plain_build = shutil.copy(snapshot, data_dir.parent / "plain.duckdb")
    # the same inputs built twice give the same tables, row for row (ties, lists and picks included)
    assert snapshot_differences(Path(backfill_build), Path(plain_build)) == {}
    log = data_dir / "warehouse" / "dbt" / f"build-{LAST_NIGHT}.log"
    log.unlink(missing_ok=True)
    night = subprocess.Popen([str(cdp), "run", "--data-dir", str(data_dir), "--date", str(LAST_NIGHT)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and night.poll() is None:   # kill it in the middle of the dbt build
        if log.exists() and log.read_text(errors="replace").count(" OK created ") >= 20:
            break
        time.sleep(0.2)
    assert night.poll() is None, "the night ended before it could be killed"
    os.killpg(night.pid, signal.SIGKILL)
    night.wait()
    assert published_state(data_dir) == published                # nothing half-published, nothing lost

    again = subprocess.run([str(cdp), "run", "--data-dir", str(data_dir), "--date", str(LAST_NIGHT)], env=env,
                           capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    assert manifest_files(data_dir) == before                     # the same files, row for row, byte for byte
    assert snapshot_differences(Path(plain_build), snapshot) == {}  # and the same tables, row for row
