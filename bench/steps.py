"""Where a night's time went: Dagster's own step timings of the last runs of a data directory.

    python -m bench.steps DATA_DIR [RUNS]

`cdp run` executes one run per night in one process, steps one after another, so a run's wall
time is its steps plus Dagster's bookkeeping between them (planned events, check results); what
the whole command took beyond its runs is process start-up and the runner's own work.
"""
from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def step_kind(step_key: str) -> str:
    """`lake__pos` and `lake__app` are both ingestion; publishing steps keep their names."""
    if step_key.startswith("lake__") or step_key == "raw__landing_zone":
        return "ingest"
    return step_key.removeprefix("published__")


def breakdown(data_dir: Path, runs: int) -> dict[str, float]:
    """Seconds per step kind over the last `runs` runs, plus `dagster` (between steps) and `runs`
    (their wall time in all)."""
    os.environ["DAGSTER_HOME"] = str(REPO)
    os.environ["CDP_DAGSTER_STORAGE"] = str(data_dir / ".dagster")
    import dagster as dg

    instance = dg.DagsterInstance.get()
    seconds: dict[str, float] = defaultdict(float)
    for run in instance.get_runs(limit=runs):
        stats = instance.get_run_stats(run.run_id)
        wall = (stats.end_time or 0) - (stats.start_time or 0)
        in_steps = 0.0
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                seconds[step_kind(step.step_key)] += step.end_time - step.start_time
                in_steps += step.end_time - step.start_time
        seconds["dagster"] += wall - in_steps
        seconds["runs"] += wall
    return {k: round(v, 1) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    for kind, s in breakdown(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1).items():
        print(f"{kind:24} {s:8.1f} s")
