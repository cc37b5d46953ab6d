"""`make bench`: the trait layer on a year of behaviour, next to a DuckDB floor.

    python -m bench.traits --customers 1000000 --events 10000000 [--keep]

Writes synthetic `customers`, `events` (a year of business dates in time order; a lognormal
activity per customer: most have a few events, some thousands), `orders` (one per customer on
average; cancelled, refunded, till and live-room ones), `identity_map` (member ids) and a
manual-tags upload straight into a warehouse, then times the dbt models compiled from
`specs/traits.yml` (`traits_*`, `customer_manual_tags`, `customer_traits`) for a night and the
next one (a day more of events; `customer_traits` is incremental: delete+insert of the night).
The floor is one DuckDB group-by pass over the same events (count, sum, max and a filtered
count per customer). Writes `bench/results/<date>-traits-<events>.json`.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bench.ingest import _machine
from bench.measure import measure, scratch
from pipelines.lib.synthetic.catalog import CAMPAIGNS, CITIES, STORES
from pipelines.lib.synthetic.world import REG_CHANNELS, TIERS
from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR, ensure_manifest

REPO = Path(__file__).resolve().parent.parent
MODELS = ("stg_marketing__manual_tags customer_manual_tags traits_orders traits_engagement traits_profile "
          "customer_traits").split()
AS_OF, DAYS = date(2026, 6, 30), 365     # events and orders: the year to AS_OF, and the night after it
# Events per taxonomy row (default 0.5): browsing dominates, orders are rare.
EVENT_WEIGHTS = {"product_viewed": 8, "page_viewed": 5, "screen_viewed": 5, "ad_viewed": 9, "app_launched": 6,
                 "article_read": 4, "live_liked": 4, "live_entered": 3, "product_added": 1.5, "ad_clicked": 2}
CHANNELS = {  # per source: (channel, touchpoint, weight); every source also has 3% `unknown`
    "app": [("app", "app", 90), ("push", "push", 7)], "pos": [("store", "till", 97)],
    "web": [("web", "direct", 60), ("organic_search", "search_engine", 15), ("social", "social_post", 12),
            ("paid_search", "ad", 10)], "crm": [("crm", "registration", 97)],
    "miniprogram": [("mini_program", "mini_program", 50), ("wechat_share", "shared_card", 20),
                    ("official_account", "menu", 10), ("wechat_ads", "ad", 10), ("live_stream", "live_room", 7)],
    "official_account": [("official_account", "article", 97)], "live": [("live_stream", "live_room", 97)],
    "guide": [("shopping_guide", "wecom", 97)], "service": [("customer_service", "ticket", 97)],
    "ads": [("wechat_ads", "ad", 50), ("paid_social", "ad", 30), ("paid_search", "ad", 17)],
    "mall_orders": [("app", "mall", 30), ("web", "mall", 10), ("mini_program", "mall", 57)]}
COUPONS = ["guide_voucher", "new_member", "threshold", "percent_off"]
GUIDES, STORE_IDS = [g for s in STORES for g in s.guides], [s.store_id for s in STORES]


def _slots(con: duckdb.DuckDBPyConnection, name: str, cols: list[str], groups: dict, n: int = 1000) -> None:
    """Lookup table `name(grp, slot, cols...)`: n slots per group, shared by weight (each tuple's last item)."""
    rows: list[list] = []
    for grp, choices in groups.items():
        total, seen = sum(c[-1] for c in choices), 0.0
        for c in choices:
            lo, seen = round(n * seen / total), seen + c[-1]
            rows += [[grp, s, *c[:-1]] for s in range(lo, round(n * seen / total))]
    select = ", ".join(f"unnest(${i + 1}) AS {c}" for i, c in enumerate(["grp", "slot", *cols]))
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT {select}", [list(col) for col in zip(*rows)])


def build(work: Path, customers: int, events: int) -> None:
    """The warehouse's input tables, from DuckDB's seeded random(): seconds, not the world generator."""
    first, pick = AS_OF - timedelta(days=DAYS - 1), lambda xs, u: f"{xs}[1 + floor({u} * {len(xs)})::int]"
    (work / "lake" / "marketing").mkdir(parents=True)
    with duckdb.connect(str(work / "warehouse" / "cdp.duckdb")) as con:
        con.execute("SET threads = 2; SET memory_limit = '4GB'; SET enable_progress_bar = false; SELECT setseed(0.42)")
        with open(PROJECT_DIR / "seeds" / "event_taxonomy.csv") as f:
            _slots(con, "kinds", ["source", "source_event", "event_type"], {"": [
                (*r.values(), EVENT_WEIGHTS.get(r["event_type"], 0.5)) for r in csv.DictReader(f)]})
        _slots(con, "channels", ["channel", "touchpoint"], {s: [*c, ("unknown", "unknown", 3)]
                                                            for s, c in CHANNELS.items()}, n=100)
        _slots(con, "cities", ["city", "province"], {"": CITIES})
        con.execute(f"""
            CREATE TEMP TABLE people AS SELECT range AS i, random() < 0.45 AS member, random() < 0.4 AS buyer,
                random() < 0.9 AS active, floor(random() * 1000)::int AS slot, random() AS u, random() AS v,
                -- lognormal activity (sigma 1.3, Box-Muller): median 1, mean 2.3, the busiest a few hundred
                exp(1.3 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS activity,
                'c' || lower(lpad(to_hex((i * 2654435761) % 4294967296), 8, '0')
                    || lpad(to_hex((i * 40503 + 2166136261) % 4294967296), 8, '0')) AS customer_id,
                TIMESTAMP '{first}' - INTERVAL (floor(900 * random() ^ 2)::int) DAY
                    + INTERVAL (floor(random() * 86400)::int) SECOND AS first_seen_at
            FROM range({customers})""")
        con.execute(f"""
            CREATE TABLE customers AS SELECT customer_id, first_seen_at,
                least(first_seen_at + INTERVAL (floor(v * 400)::int) DAY, TIMESTAMP '{AS_OF}') AS last_seen_at,
                CASE WHEN member THEN 'M' || lpad(i::varchar, 8, '0') END AS member_id,
                CASE WHEN u < 0.3 + 0.5 * member::int THEN 'female' WHEN u < 0.4 + 0.55 * member::int THEN 'male'
                    END AS gender,
                CASE WHEN member OR (u * 7) % 1 < 0.2 THEN DATE '2008-06-30' - floor(365.25 * (45 * v * v + u))::int
                    END AS birth_date,
                CASE WHEN member OR v < 0.6 THEN c.city END AS city, CASE WHEN member THEN c.province END AS province,
                CASE WHEN member THEN {pick(TIERS, 'v * v')} END AS tier,
                CASE WHEN member THEN {pick(REG_CHANNELS, 'u')} END AS register_channel,
                CASE WHEN member THEN first_seen_at + INTERVAL (floor(u * 30)::int) DAY END AS registered_at,
                member AND u < 0.7 AS consent_sms, member AND v < 0.4 AS consent_email, member AND u < 0.8 AS
                consent_wechat, member AS is_member, 1 + floor(u * v * 9)::bigint AS identifier_count
            FROM people JOIN cities c ON c.slot = people.slot ORDER BY i""")
        con.execute("CREATE TABLE identity_map AS SELECT customer_id, 'member_id' AS id_type, member_id AS id_value, "
                    "first_seen_at, last_seen_at, 1 + identifier_count % 3 AS source_count FROM customers "
                    "WHERE is_member")
        con.execute(f"""
            COPY (SELECT {pick(['vip_event', 'kol', 'complaint_watch'], 'u')} AS tag, member_id,
                NULL::varchar AS phone_sha256, DATE '{AS_OF}' - floor(v * 300)::int AS added_on,
                CASE WHEN u < 0.2 THEN DATE '{AS_OF}' - floor(v * 100)::int END AS removed_on,
                'tags/bench.csv' AS source_file, row_number() OVER (ORDER BY i) AS line
            FROM people JOIN customers USING (customer_id) WHERE member AND u < 0.03)
            TO '{work}/lake/marketing/manual_tags.parquet' (FORMAT parquet)""")
        # Who does what: customer k takes an event with probability activity_k / sum (an ASOF join on cumulated
        # weights); 6% of events are anonymous; 10% of customers never act, 60% never buy.
        for name, weight, where in (("ew", "activity", "active"), ("ow", "activity ^ 0.7", "buyer")):
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT customer_id, sum({weight}) OVER (ORDER BY i) / "
                        f"sum({weight}) OVER () AS cum FROM people WHERE {where}")
        when = (f"random() * 0.999999 AS pick, floor({DAYS + 1} * random() ^ 0.85)::int AS d, 25200 + "
                "floor(61200 * random())::int AS sec, random() AS anon, random() AS u, random() AS v, "
                "random() AS w, random() AS x")
        at = f"TIMESTAMP '{first}' + INTERVAL (d) DAY + INTERVAL (sec - 28800) SECOND"   # local 7:00-24:00, in UTC
        orders = "k.event_type IN ('order_placed', 'order_completed')"
        con.execute(f"""
            CREATE TABLE events AS
            WITH e AS (SELECT * FROM (SELECT range AS e, floor(random() * 1000)::int AS kind,
                floor(random() * 100)::int AS ch, {when} FROM range({events})) ASOF JOIN ew ON pick <= ew.cum
                ORDER BY d, sec)  -- time order, not customer order: no free locality for the group-bys
            SELECT k.source || ':' || lower(lpad(to_hex((e * 2654435761) % 4294967296), 8, '0') || '-'
                    || lpad(to_hex(e), 12, '0')) AS event_id,
                CASE WHEN anon < 0.06 THEN 'anonymous' ELSE e.customer_id END AS customer_id, {at} AS occurred_at,
                DATE '{first}' + d AS business_date, k.source, k.event_type, c.channel, c.touchpoint,
                CASE WHEN k.source = 'ads' OR c.touchpoint = 'ad' THEN {pick([c.campaign_id for c in CAMPAIGNS], 'w')}
                    END AS campaign_id,
                CASE WHEN k.event_type IN ('product_viewed', 'product_added', 'product_clicked', 'guide_product_shared')
                    THEN 'P' || (1 + floor(6 * v)::int) || lpad((1 + floor(12 * w * w)::int)::varchar, 3, '0')
                    END AS product_id,
                CASE WHEN {orders} THEN round(59 + 1800 * v * v, 2)::decimal(38, 2) END AS amount,
                CASE WHEN {orders} THEN 'E' || e END AS order_id,
                CASE WHEN k.event_type LIKE 'coupon%' THEN {pick(COUPONS, 'w')} END AS coupon_type,
                CASE WHEN ({orders} OR k.event_type = 'coupon_applied') AND x < 0.5
                    THEN round(0.05 + 0.25 * w, 2)::double END AS discount_rate,
                CASE WHEN k.source = 'miniprogram' THEN {pick(['1001', '1007', '1011', '1035', '1089', '1177'], 'x')}
                    END AS scene,
                CASE WHEN k.source = 'live' THEN 'L' || (1000 + floor(40 * w)::int) END AS room_id,
                CASE WHEN k.source = 'official_account' THEN 'A' || (500 + floor(200 * w)::int) END AS article_id,
                CASE WHEN k.source = 'guide' THEN {pick(GUIDES, 'w')} END AS guide_id,
                CASE WHEN k.source IN ('pos', 'guide') THEN {pick(STORE_IDS, 'w * w')} END AS store_id,
                CASE WHEN k.event_type = 'ad_clicked' THEN 'ck' || e END AS click_id,
                CASE WHEN k.source IN ('app', 'web') AND k.event_type LIKE '%viewed' THEN
                    'https://www.lumiere.cn/' || k.event_type || '/' || floor(100 * w)::int END AS page_url,
                CASE WHEN k.event_type = 'products_searched' THEN {pick(['精华', '面霜', '香水', '口红'], 'w')}
                    END AS search_query,
                CASE k.source WHEN 'app' THEN {pick(['ios', 'android'], 'x')} WHEN 'web' THEN 'web'
                    WHEN 'pos' THEN 'store' WHEN 'ads' THEN {pick(['tencent_ads', 'ocean_engine', 'baidu'], 'x')}
                    WHEN 'mall_orders' THEN {pick(['app', 'web', 'miniprogram'], 'x')} END AS platform,
                CASE WHEN k.source = 'web' AND x < 0.2 THEN 'baidu' END AS utm_source,
                CASE WHEN k.source = 'web' AND x < 0.2 THEN 'cpc' END AS utm_medium,
                CASE WHEN c.channel IN ('organic_search', 'social') THEN {pick(['baidu.com', 'weibo.com'], 'x')}
                    END AS referrer_domain,
                k.source_event
            FROM e JOIN kinds k ON k.slot = e.kind JOIN channels c ON c.grp = k.source AND c.slot = e.ch""")
        status = ("CASE WHEN pos THEN (CASE WHEN x < 0.93 THEN 'completed' WHEN x < 0.96 THEN 'refunded' WHEN x < 0.98 "
                  "THEN 'partially_refunded' ELSE 'refund_without_sale' END) WHEN x < 0.70 THEN 'completed' WHEN x < "
                  "0.76 THEN 'shipped' WHEN x < 0.79 THEN 'paid' WHEN x < 0.89 THEN 'cancelled' WHEN x < 0.96 THEN "
                  "'refunded' ELSE 'partially_refunded' END")
        con.execute(f"""
            CREATE TABLE orders AS
            WITH o AS (SELECT range AS o, random() < 0.25 AS pos, {when} FROM range({customers})),
            s AS (SELECT *, {status} AS status, {at} AS ordered_at, round(99 + 1800 * v * v, 2)::decimal(38, 2)
                    AS amount, CASE WHEN w < 0.25 THEN {pick(COUPONS, 'w * 4')} END AS coupon_type,
                    CASE WHEN pos THEN 'store' ELSE {pick(['app', 'web', 'miniprogram'], 'u')} END AS platform
                FROM o ASOF JOIN ow ON o.pick <= ow.cum),
            m AS (SELECT *, CASE WHEN status IN ('refunded', 'refund_without_sale') THEN amount
                    WHEN status = 'partially_refunded' THEN round(amount * 0.3, 2) ELSE 0 END AS refund_amount FROM s)
            SELECT CASE WHEN pos THEN 'S' || o ELSE 'MO' || lpad(o::varchar, 12, '0') END AS order_id,
                CASE WHEN anon < 0.02 THEN 'anonymous' ELSE customer_id END AS customer_id,
                CASE WHEN pos THEN 'pos' ELSE 'mall_orders' END AS source, platform, ordered_at,
                DATE '{first}' + d AS business_date,
                CASE WHEN status <> 'cancelled' THEN ordered_at + INTERVAL (30 + floor(90 * v)::int) SECOND END
                    AS paid_at,
                CASE WHEN refund_amount > 0 THEN ordered_at + INTERVAL (1 + floor(14 * x)::int) DAY END AS refunded_at,
                status, amount, CASE WHEN coupon_type IS NOT NULL THEN round(amount * 0.1, 2) ELSE 0 END AS discount,
                coupon_type, refund_amount,
                CASE WHEN status = 'cancelled' THEN 0 ELSE amount - refund_amount END AS net_amount,
                CASE WHEN pos THEN {pick(STORE_IDS, 'u * u')} END AS store_id,
                CASE WHEN pos AND w < 0.5 OR w < 0.05 THEN {pick(GUIDES, 'u')} END AS guide_id,
                CASE WHEN platform = 'miniprogram' THEN {pick(['1001', '1007', '1089', '1177'], 'x')} END AS scene,
                CASE WHEN platform = 'miniprogram' AND (u * 7) % 1 < 0.2 THEN 'L' || (1000 + floor(40 * w)::int) END
                    AS room_id,
                CASE WHEN NOT pos AND u BETWEEN 0.9 AND 0.93 THEN 'A' || (500 + floor(200 * w)::int) END AS article_id,
                CASE WHEN NOT pos AND u > 0.95 THEN 'ck' || o END AS click_id
            FROM m ORDER BY ordered_at""")


FLOOR = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET threads = 2; SET enable_progress_bar = false; SET memory_limit = '4GB'")
con.execute("CREATE OR REPLACE TABLE floor AS SELECT customer_id, count(*), sum(amount), max(occurred_at), "
            "count(*) FILTER (WHERE event_type = 'product_viewed') FROM events "
            f"WHERE customer_id <> 'anonymous' AND business_date <= DATE '{sys.argv[2]}' GROUP BY customer_id")
"""


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(ticks[i] for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")   # user nice system irq softirq


def night(work: Path, as_of: date, env: dict) -> tuple:
    """`dbt run` of the trait models for one night: its measurement, dbt's seconds per model and in all."""
    target = work / f"dbt-{as_of}"
    run = measure([str(DBT), "run", "--select", *MODELS, "--project-dir", str(PROJECT_DIR), "--profiles-dir",
                   str(PROJECT_DIR), "--target-path", str(target), "--log-path", str(target / "logs"), "--vars",
                   json.dumps({"data_dir": str(work)})], {**env, "CDP_AS_OF_DATE": str(as_of)}, cwd=str(PROJECT_DIR))
    results = json.loads((target / "run_results.json").read_text())
    return run, {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results["results"]}, \
        round(results["elapsed_time"], 2)


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_TRAIT_CUSTOMERS", 1_000_000)))
    args.add_argument("--events", type=int, default=int(os.environ.get("BENCH_TRAIT_EVENTS", 10_000_000)))
    args.add_argument("--keep", action="store_true", help="keep the generated warehouse")
    opts = args.parse_args()
    ensure_manifest()   # the generated trait models exist and match specs/traits.yml
    with scratch("traits", opts.keep) as work:
        db = work / "warehouse" / "cdp.duckdb"
        db.parent.mkdir(parents=True)
        env = dict(os.environ)
        # Each step in a process of its own: on Linux a child's peak RSS starts at its parent's at the fork.
        busy = _busy_cpu_s()
        gen = measure([sys.executable, "-c", "import sys; from pathlib import Path; from bench.traits import build; "
                       f"build(Path(sys.argv[1]), {opts.customers}, {opts.events})", str(work)], env, cwd=str(REPO))
        nights = [night(work, AS_OF + timedelta(days=k), env) for k in (0, 1)]
        floor = measure([sys.executable, "-c", FLOOR, str(db), str(AS_OF)], env)
        # CPU that other processes took meanwhile: on a shared 2-core machine it inflates wall times.
        others = _busy_cpu_s() - busy - sum(m.cpu_s for m in (gen, nights[0][0], nights[1][0], floor))
        counts = {t: f"(SELECT count(*) FROM {t})" for t in ("customers", "events", "orders", "identity_map")}
        counts["events_to_as_of"] = f"(SELECT count(*) FROM events WHERE business_date <= DATE '{AS_OF}')"
        with duckdb.connect(str(db), read_only=True) as con:
            data = dict(zip(counts, con.execute(f"SELECT {', '.join(counts.values())}").fetchone()))
            rows = dict(con.execute("SELECT as_of_date::varchar, count(*) FROM customer_traits GROUP BY 1 "
                                    "ORDER BY 1").fetchall())
        ev = data["events_to_as_of"]
        result = {"date": date.today().isoformat(), "machine": _machine(), "data": data,
                  "generate": {"wall_s": round(gen.wall_s, 2), "peak_rss_mib": round(gen.peak_rss_mib)}}
        for key, m in (("night_1", nights[0][0]), ("night_2", nights[1][0]), ("floor", floor)):
            result[key] = {"wall_s": round(m.wall_s, 2), "cpu_s": round(m.cpu_s, 2),
                           "peak_rss_mib": round(m.peak_rss_mib), "events_per_s": round(ev / m.wall_s)}
        for k, (_, models, elapsed) in enumerate(nights):
            result[f"night_{k + 1}"].update(as_of_date=str(AS_OF + timedelta(days=k)), dbt_elapsed_s=elapsed,
                                            model_s=models)
        result["customer_traits_rows"], result["other_processes_cpu_s"] = rows, round(others, 1)
        result["ratio_wall_night_1_over_floor"] = round(nights[0][0].wall_s / floor.wall_s, 2)
        out = REPO / "bench" / "results" / f"{result['date']}-traits-{opts.events}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"machine: {result['machine']}")
        print(f"data: {data['customers']:,} customers, {data['events']:,} events ({ev:,} up to {AS_OF}), "
              f"{data['orders']:,} orders; generated in {gen.wall_s:.1f} s")
        print(f"{'':28} {'wall s':>8} {'cpu s':>8} {'events/s':>10} {'peak MiB':>9}")
        for label, key in (("traits night 1 (dbt run)", "night_1"), ("traits night 2 (dbt run)", "night_2"),
                           ("floor (one group-by pass)", "floor")):
            m = result[key]
            print(f"{label:28} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} {m['events_per_s']:>10,} {m['peak_rss_mib']:>9,}")
        print(f"{'dbt seconds per model':28} {'night 1':>8} {'night 2':>10}")
        for name in sorted(MODELS, key=lambda n: -nights[0][1].get(n, 0)):
            print(f"  {name:26} {nights[0][1].get(name, 0):>8.1f} {nights[1][1].get(name, 0):>10.1f}")
        print(f"night 1 / floor (wall): {result['ratio_wall_night_1_over_floor']}x; customer_traits rows per night: "
              f"{', '.join(f'{d} {n:,}' for d, n in rows.items())}; other processes took {others:.0f} cpu s "
              f"meanwhile   -> {out.relative_to(REPO)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
