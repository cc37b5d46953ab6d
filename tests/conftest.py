"""Session-wide fixtures: one generated world, ingested night by night through Dagster once per
test session, whatever the number of xdist workers."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

WORLD_START = date(2026, 1, 1)
# CDP_TEST_WORLD_DAYS=100 (with CDP_TEST_ALL_NIGHTS=1) checks a quarter and its 90-day windows night by night: `make test-quarter`.
WORLD_DAYS = int(os.environ.get("CDP_TEST_WORLD_DAYS", "30"))


def chromium_path() -> str:
    """The Debian Chromium `make install` puts on the machine (headless browser tests)."""
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed: `make install` installs the Debian package"
    return found


def _shared_dir(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (the parent of the workers' own temp
    folders), or this process's own when tests run without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def pristine_month(tmp_path_factory) -> Path:
    """The month as its nights left it, which no test changes (`ingested_month` builds it first);
    a worker's own copy may have had a night rerun in place by an earlier test."""
    return _shared_dir(tmp_path_factory) / "month-world" / "world"


@pytest.fixture(scope="session")
def ingested_month(tmp_path_factory):
    """A month of noisy deliveries (noise on), every night run through the real Dagster job, in
    order. Built once per test session: the first worker to ask generates and ingests it under a
    lock, and each worker then works on its own copy (tests of one worker may rerun a night in
    place; tests that break things take a further copy, `month_copy`)."""
    import pickle
    import shutil

    from filelock import FileLock

    from pipelines.lib.synthetic import generate
    from pipelines.runner import run_nights
    from pipelines.settings import Settings

    shared = _shared_dir(tmp_path_factory) / "month-world"
    with FileLock(f"{shared}.lock"):
        if not (shared / "results.pickle").exists():
            world = shared / "world"
            shutil.rmtree(world, ignore_errors=True)      # what a worker that failed left
            generate(world, customers=400, days=WORLD_DAYS, start=WORLD_START, seed=11, noise=1.0)
            os.environ["CDP_DAGSTER_STORAGE"] = str(world / ".dagster")
            days = [WORLD_START.fromordinal(WORLD_START.toordinal() + i) for i in range(WORLD_DAYS)]
            results = run_nights(days, Settings.from_env(world))
            (shared / "results.pickle").write_bytes(pickle.dumps(results))
    data_dir = tmp_path_factory.mktemp("month")
    shutil.copytree(shared / "world", data_dir, dirs_exist_ok=True)
    os.environ["CDP_DAGSTER_STORAGE"] = str(data_dir / ".dagster")
    return data_dir, Settings.from_env(data_dir), pickle.loads((shared / "results.pickle").read_bytes())
