"""Replay the incremental and quiet nights of a kept nightly bench world, as often as needed.

    python -m bench.replay WORLD

`bench.nightly --keep` saves the world as it stood after the full refresh in
`WORLD/after_full_refresh`. This copies that state to `WORLD/replay`, runs the next three nights
through `cdp run` (the last delivery, a night without one, a night of erasure requests only:
`bench.erasure_night`) and prints each one's wall time,
peak memory, seconds by step and slowest models: two commits, or two settings (`CDP_DUCKDB_MEMORY_LIMIT`, `CDP_DUCKDB_THREADS`), compared on the same
night without generating and ingesting the history again (at 10 M events, 20 minutes).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from bench.erasure_night import deliver_requests, erased_on, requests_per_night
from bench.measure import measure
from bench.steps import breakdown
from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, build_vars, warehouse_target
from pipelines.settings import Settings

SAVED = "after_full_refresh"
# What a night reads and writes; the landing zone is only read, the floor is the bench's own.
STATE = (".dagster", "lake", "warehouse", "published", "quarantine", "raw")


def save_state(world: Path, next_night: str) -> None:
    """The world as the full refresh left it, and the night that follows it."""
    saved = world / SAVED
    shutil.rmtree(saved, ignore_errors=True)
    for name in STATE:
        if (world / name).exists():
            shutil.copytree(world / name, saved / name, symlinks=True)
    (saved / "night.json").write_text(json.dumps({"night": next_night}))


def parse_in_place(world: Path) -> None:
    """Leave the parse state a night built where the state was saved would find. dbt's partial
    parse is kept beside the warehouse and holds the data directory (a var): in the copy, or from
    another checkout, the first replayed build would parse the whole project (6-11 s) where the
    nightly build it stands for parses nothing."""
    target = warehouse_target(Layout(world))
    done = subprocess.run([str(DBT), "parse", "--quiet", "--project-dir", str(PROJECT_DIR), "--profiles-dir",
                           str(PROJECT_DIR), "--target-path", str(target), "--log-path", str(target),
                           "--vars", build_vars(Settings.from_env(world))],
                          cwd=PROJECT_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")


def slowest_models(log: Path, n: int = 15) -> list[tuple[str, float]]:
    """The `n` slowest models of a dbt build log (`OK created ... model main.<name> ... in <s>s`)."""
    found = re.findall(r"OK created .*? model main\.(\w+) .*?in ([0-9.]+)s", log.read_text())
    return sorted(((name, float(s)) for name, s in found), key=lambda m: -m[1])[:n]


def main() -> int:
    world = Path(sys.argv[1]).resolve()
    saved = world / SAVED
    if not (saved / "night.json").exists():
        print(f"{saved} holds no saved state: run `python -m bench.nightly --keep` first", file=sys.stderr)
        return 2
    night = json.loads((saved / "night.json").read_text())["night"]
    replay = world / "replay"
    shutil.rmtree(replay, ignore_errors=True)
    shutil.copytree(saved, replay, symlinks=True)
    env = {**os.environ, "CDP_DAGSTER_STORAGE": str(replay / ".dagster")}
    parse_in_place(replay)
    first = date.fromisoformat(night)
    for kind, day in (("incremental", first), ("quiet", first + timedelta(days=1)), ("erasure", first + timedelta(days=2))):
        if kind == "erasure":
            deliver_requests(replay, day, requests_per_night(replay))
        run = measure([str(Path(sys.executable).parent / "cdp"), "run", "--data-dir", str(replay), "--date",
                       day.isoformat()], env)
        print(f"{kind} night {day}: {run.wall_s:.1f} s wall, {run.cpu_s:.0f} s CPU, peak {run.peak_tree_mib:,.0f} MiB, "
              f"{erased_on(replay, day)} erasure requests")
        print("  seconds by step: " + ", ".join(f"{k} {v}" for k, v in breakdown(replay, 1).items()))
        print("  slowest models: " + ", ".join(f"{name} {s:.1f}" for name, s in
                                               slowest_models(replay / "warehouse" / "dbt" / f"build-{day}.log")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
