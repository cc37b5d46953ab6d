"""Attribution over the generated month, as the nightly job built it: touches folded from real
events, credits that reconcile with the orders to the cent, spend that matches the cost reports."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.layout import Layout
from tests.warehouse.conftest import query

pytestmark = pytest.mark.xdist_group("month")

PAID = "customer_id <> 'anonymous' AND status NOT IN ('cancelled', 'refund_without_sale')"


def test_every_conversion_gets_its_net_revenue_in_every_variant(ingested_month):
    data_dir, _, _ = ingested_month
    [(orders, revenue)] = query(data_dir, f"SELECT count(*), sum(net_amount) FROM orders WHERE {PAID}")
    assert orders > 20
    variants = query(data_dir, "SELECT model, lookback_days, touch_mode, count(DISTINCT conversion_id), "
                               "sum(attributed_revenue) FROM attribution GROUP BY ALL")
    assert len(variants) == 8 * 6 * 2
    for model, lookback, mode, conversions, attributed in variants:
        assert conversions == orders, (model, lookback, mode)
        assert attributed == pytest.approx(float(revenue), abs=0.01), (model, lookback, mode)
    # order by order: a refund takes back exactly what its order earned
    wrong = query(data_dir, f"""
        SELECT a.conversion_id, a.model, a.lookback_days, a.touch_mode, sum(a.attributed_revenue), o.net_amount
        FROM attribution a JOIN orders o ON o.order_id = a.conversion_id
        GROUP BY ALL HAVING abs(sum(a.attributed_revenue) - o.net_amount) > 0.005 LIMIT 5""")
    assert wrong == []
    [(refunded,)] = query(data_dir, f"SELECT count(*) FROM orders WHERE {PAID} AND refund_amount > 0")
    assert refunded > 0                                   # the month has refunds to reverse


def test_a_click_and_the_visit_it_started_are_one_touch(ingested_month):
    data_dir, _, _ = ingested_month
    [(clicks, touches)] = query(data_dir, "SELECT count(DISTINCT click_id), count(*) FROM touchpoints "
                                          "WHERE click_id IS NOT NULL")
    assert clicks == touches > 0
    # every event carrying a touch's click id belongs to that touch's customer and channel
    [(events, mismatched)] = query(data_dir, """
        SELECT count(*), count(*) FILTER (WHERE e.customer_id <> t.customer_id OR e.channel <> t.channel)
        FROM events e JOIN touchpoints t USING (click_id)""")
    assert events > touches and mismatched == 0


def test_orders_placed_from_an_ad_click_find_that_click_in_their_path(ingested_month):
    data_dir, _, _ = ingested_month
    rows = query(data_dir, f"""
        SELECT o.order_id, t.touch_id, t.customer_id = o.customer_id, t.touched_at < o.ordered_at,
               c.previous_converted_at IS NULL OR c.previous_converted_at < t.touched_at AS after_previous,
               EXISTS (SELECT 1 FROM conversion_touches p WHERE p.conversion_id = o.order_id
                       AND p.touch_id = t.touch_id AND p.lookback_days = 30 AND p.touch_mode = 'click') AS in_path
        FROM orders o
        JOIN conversions c ON c.conversion_id = o.order_id
        LEFT JOIN touchpoints t ON t.click_id = o.click_id
        WHERE o.click_id IS NOT NULL AND {PAID.replace('customer_id', 'o.customer_id').replace('status', 'o.status')}""")
    assert len(rows) >= 2                                 # 400 people in a month: a few such orders
    for order, touch, same_customer, before, after_previous, in_path in rows:
        assert touch is not None and same_customer and before, order
        assert in_path == after_previous, order           # the path restarts after an earlier order


def test_direct_visits_do_not_split_a_campaign_visit(ingested_month):
    data_dir, _, _ = ingested_month
    [(direct, inside)] = query(data_dir, """
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM touchpoints o WHERE o.customer_id = d.customer_id AND o.touch_id <> d.touch_id
              AND o.touched_at <= d.touched_at AND d.touched_at - o.touched_at <= INTERVAL 30 MINUTES
              AND NOT o.is_direct))
        FROM touchpoints d WHERE d.is_direct""")
    assert direct > 0
    assert inside == 0


def test_ad_impressions_are_views_and_clicks_are_clicks(ingested_month):
    data_dir, _, _ = ingested_month
    modes = dict(query(data_dir, """
        SELECT e.event_type, list(DISTINCT t.touch_mode ORDER BY t.touch_mode)
        FROM touchpoints t JOIN events e ON e.event_id = t.touch_id
        WHERE e.event_type IN ('ad_viewed', 'ad_clicked', 'article_read', 'live_entered')
        GROUP BY ALL"""))
    assert modes["ad_clicked"] == ["click"]
    assert modes["article_read"] == ["view"] or modes["article_read"] == ["click", "view"]
    assert "view" in modes["ad_viewed"] and "view" in modes["live_entered"]


def test_spend_matches_the_cost_reports_and_roas_is_revenue_over_spend(ingested_month):
    data_dir, _, _ = ingested_month
    lake = Layout(data_dir).lake / "ads" / "costs"
    with duckdb.connect() as con:
        [(cost,)] = con.execute(f"""
            SELECT sum(cost) FROM (
                SELECT cost FROM read_parquet('{lake}/*/*.parquet', hive_partitioning = true)
                QUALIFY row_number() OVER (PARTITION BY cost_date, platform, campaign_id
                                           ORDER BY delivery_date DESC) = 1)""").fetchall()
    rows = query(data_dir, "SELECT model, lookback_days, touch_mode, sum(spend) FROM channel_performance GROUP BY ALL")
    assert len(rows) == 8 * 6 * 2 and cost > 0
    assert {float(spend) for *_, spend in rows} == {float(cost)}
    wrong = query(data_dir, """SELECT * FROM channel_performance WHERE
        (spend > 0 AND abs(roas - attributed_revenue / spend) > 1e-9) OR (spend = 0 AND roas IS NOT NULL)""")
    assert wrong == []


def test_the_night_publishes_each_platforms_conversion_file(ingested_month):
    from tests.warehouse.test_month import LAST_NIGHT
    from pipelines.lib.publish.folder import read_manifest, verify_folder

    data_dir, _, _ = ingested_month
    root = data_dir / "published" / "conversions"
    assert sorted(p.name for p in root.iterdir()) == ["baidu", "ocean_engine", "tencent_ads"]
    expected = dict(query(data_dir, "SELECT platform, count(*) FROM ad_conversions WHERE first_delivered_on = ? "
                                    "GROUP BY ALL", LAST_NIGHT))
    assert sum(expected.values()) > 0
    for platform in ("baidu", "ocean_engine", "tencent_ads"):
        folder = root / platform / LAST_NIGHT.isoformat()
        manifest = read_manifest(folder)
        assert verify_folder(folder) == []
        assert manifest["row_count"] == expected.get(platform, 0)
        assert {g["status"] for g in manifest["gates"]} == {"pass"} and len(manifest["gates"]) >= 3
        with duckdb.connect() as con:
            rows = con.execute(f"SELECT * FROM read_csv('{folder / 'conversions.csv'}', all_varchar = true)").fetchall()
            columns = [d[0] for d in con.description]
        assert columns == ["click_id", "conversion_type", "conversion_time", "value", "currency", "order_id",
                           "hashed_phone", "hashed_email"]
        assert len(rows) == manifest["row_count"]
        for row in rows:
            assert row[1] == "purchase" and row[2].endswith("Z") and row[4] == "CNY"
            assert row[6] is None or len(row[6]) == 64


@pytest.mark.parametrize("lookback", [0, 7, 30])
def test_per_order_credits_add_up_to_cdp_attribute_on_the_same_paths(ingested_month, tmp_path, lookback):
    """Click mode (every touch a click): the warehouse's rule-based models, summed per channel,
    equal the standalone engine run on the warehouse's own path summary; its Shapley equals the
    closed form on those paths (the engine samples beyond 12 channels, and the month has more)."""
    from click.testing import CliRunner

    from pipelines.cli import main

    data_dir, _, _ = ingested_month
    paths = query(data_dir, "SELECT path, conversions, non_conversions, revenue FROM conversion_paths "
                            "WHERE lookback_days = ? AND touch_mode = 'click' ORDER BY path", lookback)
    file = tmp_path / "paths.csv"
    file.write_text("path,conversions,non_conversions,revenue\n" + "".join(f"{p},{c},{n},{r}\n" for p, c, n, r in paths))
    closed_form: dict[str, tuple[float, float]] = {}
    for path, conversions, _, revenue in paths:
        channels = set(path.split(" > "))
        for channel in channels:
            n, r = closed_form.get(channel, (0.0, 0.0))
            closed_form[channel] = (n + conversions / len(channels), r + float(revenue) / len(channels))
    for model in ("first_touch", "last_touch", "linear", "position_based", "shapley"):
        done = CliRunner().invoke(main, ["attribute", "--paths", str(file), "--model", model])
        assert done.exit_code == 0, done.output
        engine = {line.split(",")[0]: (float(line.split(",")[1]), float(line.split(",")[2]))
                  for line in done.output.strip().splitlines()[1:]}
        if model == "shapley":
            engine = {c: closed_form.get(c, (0.0, 0.0)) for c in engine}
        warehouse = {c: (n, float(r)) for c, n, r in query(data_dir, """
            SELECT channel, sum(credit), sum(attributed_revenue) FROM attribution
            WHERE model = ? AND lookback_days = ? AND touch_mode = 'click' GROUP BY channel""", model, lookback)}
        assert set(warehouse) <= set(engine), model
        for channel, (conversions, revenue) in engine.items():
            got = warehouse.get(channel, (0.0, 0.0))
            assert got[0] == pytest.approx(conversions, abs=1e-5), (model, channel)
            assert got[1] == pytest.approx(revenue, abs=0.01), (model, channel)
