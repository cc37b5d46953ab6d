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


def published_state(data_dir: Path) -> dict[str, str]:
    """Every published output file (manifests included) -> its SHA-256; run reports aside (a
    failed night writes its own report)."""
    root = data_dir / "published"
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "reports" not in p.relative_to(root).parts}


def failure_report(data_dir: Path, night) -> str:
    """The text of the night's run report (written for a failed night too)."""
    from pipelines.lib.publish.folder import read_manifest

    folder = data_dir / "published" / "reports" / str(night)
    assert read_manifest(folder)["outcome"] == "failed"
    return (folder / "index.html").read_text()


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
    page = failure_report(data_dir, LAST_NIGHT)                 # and the morning page says why
    assert f"Night {LAST_NIGHT} failed" in page and "part-0.parquet" in page
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


def test_an_audience_spec_with_an_error_stops_the_night_before_anything_runs(month_copy, tmp_path):
    """A marketer's audience YAML names a trait that does not exist: `cdp run` refuses to start,
    names the file, the audience and the field, and leaves the lake and every published file as
    they were. (The code runs from a copy of the repository, so the broken spec is its own.)"""
    import os
    import subprocess
    import sys

    from pipelines.lib.warehouse.dbt import PROJECT_DIR
    from pipelines.settings import REPO_ROOT

    data_dir, _ = month_copy
    code = tmp_path / "code"
    shutil.copytree(REPO_ROOT / "pipelines", code / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_DIR, code / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copy(REPO_ROOT / "dagster.yaml", code / "dagster.yaml")
    (code / "dbt_project" / "specs" / "audiences" / "summer.yml").write_text(
        "audiences:\n  summer_sale:\n    description: Bought this year.\n    owner: crm\n    purpose: sms\n"
        "    when: {trait: lifetime_orderz, gte: 1}\n")
    lake = {p: p.stat().st_mtime_ns for p in (data_dir / "lake").rglob("*") if p.is_file()}
    before = published_state(data_dir)

    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir),
                           "--date", str(LAST_NIGHT)], cwd=code, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(code),
                               "CDP_DAGSTER_STORAGE": str(data_dir / ".dagster")})

    assert done.returncode == 2, done.stderr[-2000:]
    assert "No night ran" in done.stderr
    assert "summer.yml" in done.stderr and "summer_sale" in done.stderr and "lifetime_orderz" in done.stderr
    assert {p: p.stat().st_mtime_ns for p in (data_dir / "lake").rglob("*") if p.is_file()} == lake
    assert published_state(data_dir) == before
    from pipelines.lib.publish.folder import read_manifest

    assert read_manifest(data_dir / "published" / "reports" / str(LAST_NIGHT))["outcome"] == "ok"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 MiB file system of its own (tmpfs), for the disk-full drill."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a small file system: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_while_staging_the_snapshot_publishes_nothing_wrong(month_copy, tiny_disk, monkeypatch):
    """The published side of the data directory (published/ and its scratch, one file system)
    is almost full: the audience and conversion folders still fit, the analyst snapshot does not.
    The step fails saying so, yesterday's snapshot stays byte for byte, no scratch is left, every
    folder that was published verifies against its manifest, and a full disk is not retried."""
    import os

    from pipelines.lib.publish.folder import verify_folder
    from pipelines.runner import run_night
    from tests.warehouse.test_gates import retries_of

    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    shutil.move(data_dir / "published", tiny_disk / "published")
    (data_dir / "published").symlink_to(tiny_disk / "published")
    (tiny_disk / "scratch").mkdir()
    (data_dir / ".staging").mkdir(exist_ok=True)
    (data_dir / ".staging" / "publish").symlink_to(tiny_disk / "scratch")
    stat = os.statvfs(tiny_disk)
    (tiny_disk / "ballast").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - (1 << 20)))   # leave 1 MiB
    before = published_state(data_dir)
    assert (data_dir / "published" / "cdp.duckdb").stat().st_size > 2 * (1 << 20)

    night = run_night(LAST_NIGHT, settings)

    assert not night.success
    assert night.failed_steps == ["published__snapshot"]
    assert "No space left on device" in " ".join(night.errors)
    assert published_state(data_dir)["cdp.duckdb"] == before["cdp.duckdb"]
    assert list((tiny_disk / "scratch").iterdir()) == []                 # no half-written file left
    folders = [m.parent for m in (data_dir / "published").rglob("_manifest.json")]
    assert folders and all(verify_folder(f) == [] for f in folders)
    assert retries_of(night.run_id) == []
