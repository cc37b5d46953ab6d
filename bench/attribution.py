"""`make bench`: the standalone attribution engine on a million conversions, model by model.

    python -m bench.attribution --conversions 1000000 [--non-conversions N] [--channels 10] [--keep]

Generates journeys (NumPy, seeded): `--conversions` converting and `--non-conversions`
(default: as many) non-converting ones, each of 1 to 20 touches (uniform: the heavy end of real
paths), channels drawn with skewed popularity, revenue lognormal per conversion; aggregates them
into a path summary CSV (`path,conversions,non_conversions,revenue`; with up to 20 touches almost
every journey is a distinct path). Then times `cdp attribute --model M` for every path-summary
model, each in a process of its own (start-up, reading and checking the file included), next to
a floor: Polars reading the same file and counting touches per channel, one pass.
Ten channels keep Shapley exact; `--channels 16` times the sampled Shapley.
Writes `bench/results/<date>-attribution-<conversions>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from bench.ingest import _machine
from bench.measure import measure, scratch
from bench.traits import _busy_cpu_s
from pipelines.lib.attribution import MODELS

REPO = Path(__file__).resolve().parent.parent
CHANNELS = ["paid_search", "wechat_ads", "official_account", "live_stream", "shopping_guide", "mini_program",
            "organic_search", "email", "sms", "direct", "paid_social", "app_push", "store", "coupon", "video",
            "affiliate", "display", "referral", "kol", "podcast"]
MAX_TOUCHES = 20

FLOOR = """
import sys, polars as pl
paths = pl.read_csv(sys.argv[1], infer_schema=False)["path"]
print(paths.str.split(">").explode().str.strip_chars().value_counts().height)
"""


def write_summary(file: Path, conversions: int, non_conversions: int, channels: int, seed: int = 7) -> dict:
    """The path summary of synthetic journeys, and what it holds (also beside it as `<file>.json`)."""
    rng = np.random.default_rng(seed)
    journeys = conversions + non_conversions
    lengths = rng.integers(1, MAX_TOUCHES + 1, size=journeys)
    popularity = rng.dirichlet(np.full(channels, 2.0))
    touches = rng.choice(channels, size=int(lengths.sum()), p=popularity)
    names = pl.Series(CHANNELS[:channels])
    converted = np.arange(journeys) < conversions
    revenue = np.where(converted, np.round(rng.lognormal(5.0, 0.8, size=journeys), 2), 0.0)
    paths = (pl.DataFrame({"journey": np.repeat(np.arange(journeys), lengths), "channel": names.gather(touches)})
             .group_by("journey", maintain_order=True).agg(pl.col("channel").str.join(" > ").alias("path"))
             .with_columns(conversions=pl.Series(converted.astype(np.int64)),
                           non_conversions=pl.Series((~converted).astype(np.int64)), revenue=pl.Series(revenue))
             .group_by("path").agg(pl.col("conversions", "non_conversions", "revenue").sum())
             .sort("path"))
    paths.write_csv(file, float_precision=2)
    facts = {"conversions": conversions, "non_conversions": non_conversions, "channels": channels,
             "touches": int(lengths.sum()), "distinct_paths": paths.height,
             "file_mib": round(file.stat().st_size / 2**20, 1)}
    file.with_suffix(".json").write_text(json.dumps(facts))
    return facts


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--conversions", type=int, default=int(os.environ.get("BENCH_CONVERSIONS", 1_000_000)))
    args.add_argument("--non-conversions", type=int, default=None, help="default: as many as conversions")
    args.add_argument("--channels", type=int, default=10, choices=range(2, len(CHANNELS) + 1), metavar="2..20")
    args.add_argument("--keep", action="store_true", help="keep the generated path summary")
    opts = args.parse_args()
    non_conversions = opts.conversions if opts.non_conversions is None else opts.non_conversions
    cdp = str(Path(sys.executable).parent / "cdp")
    with scratch("attribution", opts.keep) as work:
        file = work / "paths.csv"
        gen = measure([sys.executable, "-c", "import sys; from pathlib import Path; "
                       "from bench.attribution import write_summary; "
                       f"write_summary(Path(sys.argv[1]), {opts.conversions}, {non_conversions}, {opts.channels})",
                       str(file)], cwd=str(REPO))
        data = json.loads(file.with_suffix(".json").read_text())
        busy = _busy_cpu_s()
        runs = {m: measure([cdp, "attribute", "--paths", str(file), "--model", m]) for m in MODELS}
        floor = measure([sys.executable, "-c", FLOOR, str(file)])
        # CPU that other processes took meanwhile: on a shared 2-core machine it inflates wall times.
        others = _busy_cpu_s() - busy - sum(m.cpu_s for m in (*runs.values(), floor))
        result = {"date": date.today().isoformat(), "machine": _machine(), "data": data,
                  "generate": {"wall_s": round(gen.wall_s, 2), "peak_rss_mib": round(gen.peak_rss_mib)}}
        for key, m in (*runs.items(), ("floor", floor)):
            result[key] = {"wall_s": round(m.wall_s, 2), "cpu_s": round(m.cpu_s, 2),
                           "peak_rss_mib": round(m.peak_rss_mib)}
        result["other_processes_cpu_s"] = round(others, 1)
        suffix = "" if opts.channels == 10 else f"-{opts.channels}channels"
        out = REPO / "bench" / "results" / f"{result['date']}-attribution-{opts.conversions}{suffix}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"machine: {result['machine']}")
        print(f"data: {data['conversions']:,} conversions + {data['non_conversions']:,} non-conversions, "
              f"{data['touches']:,} touches over {data['channels']} channels, {data['distinct_paths']:,} distinct "
              f"paths ({data['file_mib']} MiB CSV); generated in {gen.wall_s:.1f} s")
        print(f"{'cdp attribute --model':24} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
        for key in (*runs, "floor"):
            label = key if key != "floor" else "floor (read + count)"
            r = result[key]
            print(f"{label:24} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_rss_mib']:>9,}")
        print(f"other processes took {others:.0f} cpu s meanwhile   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
