"""`make bench`: ingestion throughput, wall time and peak memory next to a DuckDB floor.

    python -m bench.ingest --events 1000000 [--days 10] [--keep]

Generates a landing zone of about N events (generation is not timed against the pipeline),
runs every night through `cdp run` (Dagster in one process, gates included), then the floor
(`bench.floor`: DuckDB reading the same raw files once into Parquet with no logic), and
writes `bench/results/<date>-<events>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

import duckdb

from bench.measure import measure, scratch
from pipelines.lib.synthetic import events_per_customer_day

REPO = Path(__file__).resolve().parent.parent


def _machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def world_options(doc: str, days: int) -> tuple[argparse.Namespace, int]:
    """--events, --days, --keep; and the customers a world of that many events needs."""
    args = argparse.ArgumentParser(description=doc.splitlines()[0])
    args.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 1_000_000)))
    args.add_argument("--days", type=int, default=days)
    args.add_argument("--keep", action="store_true", help="keep the generated data directory")
    opts = args.parse_args()
    return opts, max(100, round(opts.events / (events_per_customer_day(opts.days) * opts.days)))


def main() -> int:
    opts, customers = world_options(__doc__, days=10)
    with scratch("ingest", opts.keep) as work:
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "CDP_DAGSTER_STORAGE": str(work / ".dagster")}
        gen = measure([str(bin_dir / "cdp"), "generate", "--data-dir", str(work), "--customers", str(customers),
                       "--days", str(opts.days), "--seed", "42"], env)
        raw_bytes = sum(p.stat().st_size for p in (work / "raw").rglob("*") if p.is_file())
        pipe = measure([str(bin_dir / "cdp"), "run", "--data-dir", str(work), "--all"], env)
        log = duckdb.connect().execute(f"SELECT sum(rows_read), sum(rows_in_lake), sum(rows_quarantined), sum(rows_deduplicated) "
                         f"FROM '{work}/lake/_ingest_log.parquet'").fetchone()
        floor = measure([sys.executable, "-m", "bench.floor", str(work), str(work / "floor")], env, cwd=str(REPO))
        rows_read = int(log[0])
        result = {
            "date": date.today().isoformat(), "machine": _machine(), "events_requested": opts.events,
            "customers": customers, "days": opts.days, "raw_bytes": raw_bytes,
            "generate": {"wall_s": round(gen.wall_s, 2), "peak_rss_mib": round(gen.peak_rss_mib)},
            "pipeline": {"wall_s": round(pipe.wall_s, 2), "peak_rss_mib": round(pipe.peak_rss_mib),
                         "rows_read": rows_read, "rows_in_lake": int(log[1]), "rows_quarantined": int(log[2]),
                         "rows_deduplicated": int(log[3]), "rows_per_s": round(rows_read / pipe.wall_s)},
            "floor": {"wall_s": round(floor.wall_s, 2), "peak_rss_mib": round(floor.peak_rss_mib),
                      "rows_per_s": round(rows_read / floor.wall_s)},
        }
        result["ratio_wall_pipeline_over_floor"] = round(pipe.wall_s / floor.wall_s, 2)
        suffix = "" if opts.days == 10 else f"-{opts.days}nights"
        out = REPO / "bench" / "results" / f"{result['date']}-{opts.events}{suffix}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        p, f = result["pipeline"], result["floor"]
        print(f"machine: {result['machine']}")
        print(f"data: {rows_read:,} raw rows ({raw_bytes / 2**20:.0f} MiB) from {customers:,} customers over "
              f"{opts.days} nights; generated in {gen.wall_s:.1f} s")
        print(f"{'':10} {'wall s':>8} {'rows/s':>10} {'peak MiB':>9}")
        print(f"{'pipeline':10} {p['wall_s']:>8.1f} {p['rows_per_s']:>10,} {p['peak_rss_mib']:>9,}")
        print(f"{'floor':10} {f['wall_s']:>8.1f} {f['rows_per_s']:>10,} {f['peak_rss_mib']:>9,}")
        print(f"pipeline / floor (wall): {result['ratio_wall_pipeline_over_floor']}x   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
