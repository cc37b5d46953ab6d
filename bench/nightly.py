"""`make bench`: what a night costs end to end, in the three shapes a data engineer meets.

    python -m bench.nightly --events 1000000 [--days 100] [--keep]

Generates `days` nights of about `events` events in all (generation is not timed), then runs
through `cdp run` (Dagster, dbt, gates, publishing; one process tree):
- full refresh: every night but the last ingested, the warehouse built and published once;
- incremental night: the last night alone (about 1/days of the data is new);
- quiet night: the next night, which has no delivery at all (the windows move on);
- erasure night: the night after, whose only delivery is erasure requests (`bench.erasure_night`).
Each shape records how many erasure requests it applied.
Each next to its floor: DuckDB reading the same raw files once into Parquet (`bench.floor`).
With `--keep`, the world after the full refresh is saved for `bench.replay` (those nights again).
Seconds by step come from Dagster's run history (`bench.steps`). Writes `bench/results/<date>-nightly-<events>.json`.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bench.erasure_night import deliver_requests, erased_on, requests_per_night
from bench.ingest import _machine, world_options
from bench.measure import Measurement, measure, scratch
from bench.replay import save_state
from bench.steps import breakdown
from pipelines.settings import Settings

REPO = Path(__file__).resolve().parent.parent
START = date(2026, 1, 1)


def _figures(run: Measurement, floor: Measurement, rows: int, steps: dict[str, float]) -> dict:
    return {"wall_s": round(run.wall_s, 2), "rows_read": rows, "rows_per_s": round(rows / run.wall_s),
            "peak_tree_mib": round(run.peak_tree_mib), "cpu_s": round(run.cpu_s, 1),
            "floor_wall_s": round(floor.wall_s, 2), "floor_peak_mib": round(floor.peak_tree_mib),
            "ratio_over_floor": round(run.wall_s / floor.wall_s, 1), "steps_s": steps}


def main() -> int:
    opts, customers = world_options(__doc__, days=100)
    last, quiet = START + timedelta(days=opts.days - 1), START + timedelta(days=opts.days)
    erasure = quiet + timedelta(days=1)
    with scratch("nightly", opts.keep) as work:
        cdp = str(Path(sys.executable).parent / "cdp")
        env = {**os.environ, "CDP_DAGSTER_STORAGE": str(work / ".dagster")}
        measure([cdp, "generate", "--data-dir", str(work), "--customers", str(customers), "--days", str(opts.days),
                 "--start", START.isoformat(), "--seed", "42"], env)
        log = work / "lake" / "_ingest_log.parquet"

        def rows_read(days: str) -> int:
            [(n,)] = duckdb.connect().execute(f"SELECT coalesce(sum(rows_read), 0) FROM '{log}' "
                                              f"WHERE delivery_date {days}").fetchall()
            return int(n)

        def floor(*days: str) -> Measurement:
            return measure([sys.executable, "-m", "bench.floor", str(work), str(work / "floor"), *days], env,
                           cwd=str(REPO))

        result = {"date": date.today().isoformat(), "machine": _machine(), "events_requested": opts.events,
                  "customers": customers, "days": opts.days,
                  "duckdb_memory_limit": Settings.from_env(work).duckdb_memory_limit}
        out = REPO / "bench" / "results" / f"{result['date']}-nightly-{opts.events}.json"

        def record(name: str, figures: dict) -> None:
            """Written after each shape: a later night that fails keeps the ones already measured."""
            result[name] = figures
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2) + "\n")

        full = measure([cdp, "run", "--data-dir", str(work), "--from", START.isoformat(),
                        "--to", (last - timedelta(days=1)).isoformat()], env)
        full_rows = rows_read(f"< DATE '{last}'")
        record("full_refresh", {**_figures(full, floor(*(str(START + timedelta(days=i)) for i in range(opts.days - 1))),
                                           full_rows, breakdown(work, opts.days - 1)),
                                "erasure_requests": erased_on(work, last - timedelta(days=1))})
        if opts.keep:          # for `bench.replay`: the incremental night again, on any commit or setting
            save_state(work, last.isoformat())
        incremental = measure([cdp, "run", "--data-dir", str(work), "--date", last.isoformat()], env)
        incremental_rows = rows_read(f"= DATE '{last}'")
        record("incremental_night", {**_figures(incremental, floor(last.isoformat()), incremental_rows,
                                                     breakdown(work, 1)), "erasure_requests": erased_on(work, last)})
        def night_without_floor(day: date) -> dict:
            """A night that reads no new events (nothing to set a floor beside)."""
            run = measure([cdp, "run", "--data-dir", str(work), "--date", day.isoformat()], env)
            return {"wall_s": round(run.wall_s, 2), "peak_tree_mib": round(run.peak_tree_mib),
                    "cpu_s": round(run.cpu_s, 1), "steps_s": breakdown(work, 1), "erasure_requests": erased_on(work, day)}

        record("quiet_night", night_without_floor(quiet))
        deliver_requests(work, erasure, requests_per_night(work))
        record("erasure_night", night_without_floor(erasure))
        record("incremental_over_full", round(incremental.wall_s / full.wall_s, 2))
        print(f"machine: {result['machine']}")
        print(f"{customers:,} customers over {opts.days} nights ({full_rows + incremental_rows:,} raw rows)")
        print(f"{'':18} {'wall s':>8} {'rows':>12} {'rows/s':>9} {'peak MiB':>9} {'floor s':>8} {'x floor':>8}")
        for name in ("full_refresh", "incremental_night"):
            r = result[name]
            print(f"{name:18} {r['wall_s']:>8.1f} {r['rows_read']:>12,} {r['rows_per_s']:>9,} "
                  f"{r['peak_tree_mib']:>9,} {r['floor_wall_s']:>8.1f} {r['ratio_over_floor']:>8}")
        for name in ("quiet_night", "erasure_night"):
            q = result[name]
            print(f"{name:18} {q['wall_s']:>8.1f} {'-':>12} {'-':>9} {q['peak_tree_mib']:>9,}")
        for name in ("full_refresh", "incremental_night", "quiet_night", "erasure_night"):
            print(f"{name} ({result[name]['erasure_requests']} erasure requests) seconds by step: "
                  + ", ".join(f"{k} {v}" for k, v in result[name]["steps_s"].items()))
        print(f"incremental / full refresh: {result['incremental_over_full']}   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
