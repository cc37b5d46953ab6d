"""`make bench`: the warehouse attribution models (every model x lookback x touch mode) on
synthetic touches and orders.

    python -m bench.attribution_warehouse --conversions 1000000 [--keep]

Writes a warehouse holding only `touchpoints` and `conversions` (NumPy, seeded): each converting
customer has 1 to 20 touches (uniform) over the 30 days before their order, over 12 channels
with skewed popularity, two in five of them views and one in ten direct visits; as many
non-converting customers have touches of their own (the open journeys Markov needs). Then times
`dbt run` of what attribution builds from them (`conversion_touches`, `conversion_paths`,
`markov_removal_effects`, `attribution`) in one process, with dbt's seconds per model, next to a
floor: DuckDB reading the same touches once and joining them to their orders
(count and sum per conversion). Writes `bench/results/<date>-attribution-warehouse-<conversions>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from bench.ingest import _machine
from bench.measure import measure, scratch
from bench.traits import _busy_cpu_s
from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR

REPO = Path(__file__).resolve().parent.parent
CHANNELS = ["paid_search", "wechat_ads", "official_account", "live_stream", "shopping_guide", "mini_program",
            "organic_search", "sms", "push", "paid_social", "wechat_share", "app"]
MODELS = ["conversion_touches", "conversion_paths", "markov_removal_effects", "path:models/attribution/attribution.sql"]
AS_OF = date(2026, 3, 31)
DAY_MS = 86_400_000

FLOOR = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute('''SELECT count(*), sum(n) FROM (SELECT c.conversion_id, count(*) AS n, sum(c.revenue) AS r
    FROM conversions c JOIN touchpoints t ON t.customer_id = c.customer_id AND t.touched_at < c.converted_at
    GROUP BY c.conversion_id)''').fetchall())
"""


def write_warehouse(db: Path, conversions: int, seed: int = 7) -> dict:
    """The two input tables, written with DuckDB from Arrow arrays."""
    rng = np.random.default_rng(seed)
    customers = 2 * conversions                       # the second half never converts
    end_ms = (AS_OF.toordinal() - date(1970, 1, 1).toordinal() + 1) * DAY_MS - 8 * 3_600_000
    converted_at = end_ms - rng.integers(0, 30 * DAY_MS, size=conversions)
    lengths = rng.integers(1, 21, size=customers)
    owner = np.repeat(np.arange(customers), lengths)
    anchor = np.concatenate([converted_at, np.full(customers - conversions, end_ms)])[owner]
    touched_at = anchor - rng.integers(60_000, 30 * DAY_MS, size=owner.size)
    popularity = rng.dirichlet(np.full(len(CHANNELS), 2.0))
    channel = rng.choice(len(CHANNELS), size=owner.size, p=popularity)
    mode = np.where(rng.random(owner.size) < 0.4, "view", "click")
    direct = (np.array(CHANNELS)[channel] == "app")
    ms = pa.timestamp("ms")

    def business_date(ts: np.ndarray) -> pa.Array:
        return pa.array(((ts + 8 * 3_600_000) // DAY_MS).astype("int32"), pa.date32())

    touches = pa.table({
        "touch_id": pa.array(np.char.add("t", np.arange(owner.size).astype(str))),
        "customer_id": pa.array(np.char.add("c", owner.astype(str))),
        "touched_at": pa.array(touched_at, ms), "business_date": business_date(touched_at),
        "channel": pa.array(np.array(CHANNELS)[channel]), "campaign_id": pa.nulls(owner.size, pa.string()),
        "touch_mode": pa.array(np.where(direct, "click", mode)), "is_direct": pa.array(direct)})
    orders = pa.table({
        "conversion_id": pa.array(np.char.add("o", np.arange(conversions).astype(str))),
        "customer_id": pa.array(np.char.add("c", np.arange(conversions).astype(str))),
        "converted_at": pa.array(converted_at, ms), "business_date": business_date(converted_at),
        "revenue": pa.array(np.round(rng.lognormal(5.0, 0.8, size=conversions), 2)),
        "previous_converted_at": pa.nulls(conversions, ms)})
    with duckdb.connect(str(db)) as con:
        con.register("touches_arrow", touches)
        con.register("orders_arrow", orders)
        con.execute("CREATE TABLE touchpoints AS SELECT * FROM touches_arrow")
        con.execute("CREATE TABLE conversions AS SELECT * EXCLUDE (revenue), revenue::DECIMAL(18, 2) AS revenue "
                    "FROM orders_arrow")
    return {"conversions": conversions, "customers": customers, "touches": int(owner.size),
            "converting_touches": int(lengths[:conversions].sum()), "channels": len(CHANNELS)}


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--conversions", type=int, default=int(os.environ.get("BENCH_CONVERSIONS", 1_000_000)))
    args.add_argument("--keep", action="store_true", help="keep the generated warehouse")
    opts = args.parse_args()
    with scratch("attribution-warehouse", opts.keep) as work:
        db = Layout(work).warehouse
        db.parent.mkdir(parents=True)
        data = write_warehouse(db, opts.conversions)
        target = work / "dbt"
        env = dict(os.environ)
        busy = _busy_cpu_s()
        run = measure([str(DBT), "run", "--select", *MODELS, "--project-dir", str(PROJECT_DIR),
                       "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target),
                       "--log-path", str(target / "logs"), "--vars",
                       json.dumps({"data_dir": str(work)})], {**env, "CDP_AS_OF_DATE": AS_OF.isoformat()},
                      cwd=str(PROJECT_DIR))
        floor = measure([sys.executable, "-c", FLOOR, str(db)])
        others = _busy_cpu_s() - busy - run.cpu_s - floor.cpu_s
        per_model = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
                     for r in json.loads((target / "run_results.json").read_text())["results"]}
        with duckdb.connect(str(db), read_only=True) as con:
            [(rows, variants)] = con.execute("SELECT count(*), count(DISTINCT (model, lookback_days, touch_mode)) "
                                             "FROM attribution").fetchall()
            [(path_touches,)] = con.execute("SELECT count(*) FROM conversion_touches").fetchall()
        data.update(attribution_rows=rows, variants=variants, conversion_touch_rows=path_touches,
                    warehouse_mib=round(db.stat().st_size / 2**20))
        result = {"date": date.today().isoformat(), "machine": _machine(), "data": data,
                  "dbt_run": {"wall_s": round(run.wall_s, 1), "cpu_s": round(run.cpu_s, 1),
                              "peak_rss_mib": round(run.peak_rss_mib)},
                  "per_model_s": per_model,
                  "floor": {"wall_s": round(floor.wall_s, 2), "cpu_s": round(floor.cpu_s, 2),
                            "peak_rss_mib": round(floor.peak_rss_mib)},
                  "other_processes_cpu_s": round(others, 1)}
        out = REPO / "bench" / "results" / f"{result['date']}-attribution-warehouse-{opts.conversions}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"machine: {result['machine']}")
        print(f"data: {data['conversions']:,} conversions, {data['touches']:,} touches of {data['customers']:,} "
              f"customers over {data['channels']} channels")
        print(f"built: {path_touches:,} path touches, {rows:,} credit rows in {variants} model x lookback x mode "
              f"variants, warehouse {data['warehouse_mib']:,} MiB")
        print(f"{'':28} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
        print(f"{'dbt run (4 models)':28} {run.wall_s:>8.1f} {run.cpu_s:>8.1f} {run.peak_rss_mib:>9,.0f}")
        for model, seconds in per_model.items():
            print(f"  {model:26} {seconds:>8.1f}")
        print(f"{'floor (join touches once)':28} {floor.wall_s:>8.1f} {floor.cpu_s:>8.1f} {floor.peak_rss_mib:>9,.0f}")
        print(f"other processes took {others:.0f} cpu s meanwhile   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
