"""Path summaries for the attribution tests: hand-sized ones in each test, random ones here."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.lib.attribution import PathSummary, summary_from_rows

Row = tuple[str, int, int, float]


def random_rows(seed: int, channels: int = 6, paths: int = 300, max_touches: int = 8) -> list[Row]:
    """Distinct random paths with repeats and loops (`a > b > a`), skewed channel popularity,
    and conversions, non-conversions and revenue per path; every path is taken at least once and
    every channel is on some path."""
    rng = np.random.default_rng(seed)
    names = [f"ch{i:02d}" for i in range(channels)]
    popularity = rng.dirichlet(np.ones(channels))
    rows: dict[str, Row] = {}
    for i in range(paths):   # the first paths are each channel alone, so every channel is there
        touches = [names[i]] if i < channels else rng.choice(names, size=int(rng.integers(1, max_touches + 1)),
                                                              p=popularity)
        path = " > ".join(touches)
        conversions, non_conversions = int(rng.integers(0, 20)), int(rng.integers(0, 40))
        non_conversions += conversions + non_conversions == 0
        rows[path] = (path, conversions, non_conversions, round(float(rng.uniform(10, 200)) * conversions, 2))
    return list(rows.values())


@pytest.fixture(scope="session")
def random_summary() -> PathSummary:
    return summary_from_rows(random_rows(1))
