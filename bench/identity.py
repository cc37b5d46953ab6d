"""`make bench`: identity resolution at scale, next to a DuckDB floor.

    python -m bench.identity --people 1000000 [--keep]

Writes a synthetic identity graph straight into a warehouse's `identity_occurrences` (about 5
identifiers per person, records carrying 3 of them: ~5 M identifiers and ~20 M identifier
sightings for 1 M people), with the noise the rules exist for: a shop tablet shared by 500
people, family phones on two memberships, junk unionids. Then times the real dbt models from
`identity_identifiers` to `identity_resolution` (rules, edges, components to convergence,
limit splits, customer ids) and, as the floor, one DuckDB pass grouping the same sightings per
identifier. Scores the result against the graph's truth and writes
`bench/results/<date>-identity-<people>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from bench.ingest import _machine
from bench.measure import measure, scratch
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR

REPO = Path(__file__).resolve().parent.parent
MODELS = ("identity_identifiers identity_cut_links identity_edges identity_components identity_clusters "
          "identity_resolution")

# One row per identifier type: who has one (a SQL condition on person p) and its value.
IDENTIFIERS = [
    ("phone", "true", "'+86138' || lpad(p::varchar, 8, '0')"),
    ("member_id", "p % 5 < 3", "'M' || lpad(p::varchar, 9, '0')"),
    ("email", "p % 2 = 0", "'u' || p || '@qq.com'"),
    ("device_id", "true", "'dev-' || p || '-a'"),
    ("device_id", "p % 3 = 0", "'dev-' || p || '-b'"),
    ("unionid", "p % 10 < 7", "'un' || p"),
    ("openid", "p % 10 < 7", "'wx6f2a91c3d8e4b705:op' || p"),
    ("external_userid", "p % 10 = 0", "'wm' || p"),
    ("click_id", "p % 10 = 1", "'ck' || p"),
]


def build_graph(db: Path, people: int, records_per_person: float) -> dict[str, int]:
    with duckdb.connect(str(db)) as con:
        con.execute("SET threads = 2; SET enable_progress_bar = false")
        selects = " UNION ALL ".join(f"SELECT p, '{t}' AS id_type, {v} AS id_value FROM range({people}) r(p) WHERE {c}"
                                     for t, c, v in IDENTIFIERS)
        con.execute(f"CREATE OR REPLACE TABLE truth AS SELECT *, row_number() OVER (PARTITION BY p ORDER BY id_type, "
                    f"id_value) - 1 AS slot, count(*) OVER (PARTITION BY p) AS k FROM ({selects})")
        records = int(people * records_per_person)
        # Record r belongs to person (r * 2654435761) mod N and carries 3 consecutive identifier slots.
        con.execute(f"""
            CREATE OR REPLACE TABLE identity_occurrences AS
            WITH records AS (
                SELECT r, (r * 2654435761) % {people} AS p, (r // {people}) AS turn FROM range({records}) t(r)),
            picks AS (
                SELECT rec.r, rec.p, t.id_type, t.id_value
                FROM records rec JOIN truth t ON t.p = rec.p
                WHERE (t.slot - rec.turn % t.k + t.k) % t.k < 3)
            SELECT 'bench' AS source, 'r' || r AS record_id, id_type, id_value,
                TIMESTAMP '2026-01-01' + INTERVAL (r % 86400) SECOND AS seen_at
            FROM picks
            UNION ALL  -- the flagship's tablet: 500 members log in on it
            SELECT 'bench', 'tablet' || p, unnest(['device_id', 'member_id']),
                unnest(['dev-tablet', 'M' || lpad(p::varchar, 9, '0')]), TIMESTAMP '2026-01-02'
            FROM range(0, 2500, 5) t(p)
            UNION ALL  -- families: the member of p+1 pays with p's phone (p + 1 must stay apart)
            SELECT 'bench', 'family' || p, unnest(['member_id', 'phone']),
                unnest(['M' || lpad((p + 1)::varchar, 9, '0'), '+86138' || lpad(p::varchar, 8, '0')]),
                TIMESTAMP '2026-01-03'
            FROM range(10, {people} - 1, 1000) t(p) WHERE (p + 1) % 5 < 3
            UNION ALL  -- junk: a placeholder unionid on many people's records
            SELECT 'bench', 'junk' || p, unnest(['unionid', 'device_id']), unnest(['undefined', 'dev-' || p || '-a']),
                TIMESTAMP '2026-01-04'
            FROM range(7, {people}, 997) t(p)
        """)
        [[identifiers, sightings]] = con.execute(
            "SELECT count(DISTINCT (id_type, id_value)), count(*) FROM identity_occurrences").fetchall()
        [[pairs]] = con.execute("SELECT sum(n * (n - 1) / 2)::bigint FROM (SELECT count(*) n FROM identity_occurrences "
                                "GROUP BY source, record_id)").fetchall()
    return {"people": people, "identifiers": identifiers, "sightings": sightings, "edge_rows": pairs}


def score(db: Path) -> dict[str, float | int]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("CREATE TEMP TABLE s AS SELECT t.p, r.customer_id FROM truth t "
                    "JOIN identity_resolution r USING (id_type, id_value)")
        pairs = "SELECT sum(n * (n - 1) / 2)::double FROM (SELECT count(*) n FROM s GROUP BY {})"
        true_pairs, predicted, agreed = (con.execute(pairs.format(g)).fetchone()[0]
                                         for g in ("p", "customer_id", "p, customer_id"))
        [[customers, largest, edges, hubs, blocked]] = con.execute("""
            SELECT (SELECT count(DISTINCT customer_id) FROM identity_resolution),
                (SELECT max(n) FROM (SELECT count(*) n FROM identity_resolution GROUP BY customer_id)),
                (SELECT count(*) FROM identity_edges),
                (SELECT count(*) FROM identity_identifiers WHERE status = 'hub'),
                (SELECT count(*) FROM identity_identifiers WHERE status = 'blocked')""").fetchall()
    return {"precision": round(agreed / predicted, 6), "recall": round(agreed / true_pairs, 6),
            "customers": customers, "largest_customer": largest, "distinct_edges": edges, "hubs": hubs,
            "blocked": blocked}


FLOOR = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET threads = 2; SET enable_progress_bar = false")
con.execute("CREATE OR REPLACE TABLE floor AS SELECT id_type, id_value, min(seen_at), max(seen_at), count(*) "
            "FROM identity_occurrences GROUP BY ALL")
"""


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--people", type=int, default=int(os.environ.get("BENCH_PEOPLE", 1_000_000)))
    args.add_argument("--keep", action="store_true")
    opts = args.parse_args()
    with scratch("identity", opts.keep) as work:
        db = work / "warehouse" / "cdp.duckdb"
        db.parent.mkdir(parents=True)
        env = {**os.environ, "CDP_AS_OF_DATE": "2026-01-05"}
        dbt_args = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target-path",
                    str(work / "dbt"), "--vars", json.dumps({"data_dir": str(work)})]
        graph = build_graph(db, opts.people, records_per_person=6.7)
        subprocess.run([str(DBT), "seed", "--quiet", *dbt_args], check=True, cwd=PROJECT_DIR, env=env)
        run = measure([str(DBT), "run", "--select", *MODELS.split(), *dbt_args], env, cwd=str(PROJECT_DIR))
        floor = measure([sys.executable, "-c", FLOOR, str(db)], env)
        quality = score(db)
        result = {
            "date": date.today().isoformat(), "machine": _machine(), "graph": graph, "quality": quality,
            "identity_resolution": {"wall_s": round(run.wall_s, 2), "peak_rss_mib": round(run.peak_rss_mib),
                                    "sightings_per_s": round(graph["sightings"] / run.wall_s)},
            "floor": {"wall_s": round(floor.wall_s, 2), "peak_rss_mib": round(floor.peak_rss_mib)},
            "ratio_wall_over_floor": round(run.wall_s / floor.wall_s, 2),
        }
        out = REPO / "bench" / "results" / f"{result['date']}-identity-{opts.people}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"machine: {result['machine']}")
        print(f"graph: {graph['people']:,} people, {graph['identifiers']:,} identifiers, {graph['sightings']:,} "
              f"sightings, {graph['edge_rows']:,} edge rows -> {quality['distinct_edges']:,} distinct edges")
        print(f"{'':20} {'wall s':>8} {'peak MiB':>9}")
        print(f"{'identity (dbt run)':20} {run.wall_s:>8.1f} {run.peak_rss_mib:>9,.0f}")
        print(f"{'floor (one pass)':20} {floor.wall_s:>8.1f} {floor.peak_rss_mib:>9,.0f}")
        print(f"ratio {result['ratio_wall_over_floor']}x; precision {quality['precision']}, recall {quality['recall']}, "
              f"{quality['customers']:,} customers, largest {quality['largest_customer']}, hubs {quality['hubs']}, "
              f"blocked {quality['blocked']}   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
