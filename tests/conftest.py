"""Session-wide fixtures: one generated world, ingested night by night through Dagster."""
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


@pytest.fixture(scope="session")
def generated_month(tmp_path_factory) -> Path:
    """A month of noisy deliveries (noise on), not yet ingested."""
    from pipelines.lib.synthetic import generate

    data_dir = tmp_path_factory.mktemp("month")
    generate(data_dir, customers=400, days=WORLD_DAYS, start=WORLD_START, seed=11, noise=1.0)
    return data_dir


@pytest.fixture(scope="session")
def ingested_month(generated_month: Path):
    """Every night of the month run through the real Dagster job, in order, in this process."""
    from pipelines.runner import run_nights
    from pipelines.settings import Settings

    os.environ["CDP_DAGSTER_STORAGE"] = str(generated_month / ".dagster")
    settings = Settings.from_env(generated_month)
    days = [WORLD_START.fromordinal(WORLD_START.toordinal() + i) for i in range(WORLD_DAYS)]
    results = run_nights(days, settings)
    return generated_month, settings, results
