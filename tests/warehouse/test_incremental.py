"""Incremental nights: staging tables load one delivery at a time and still equal a full refresh.

Real `dbt build`s over a copy of the month; the comparison is the audit's own
(`full_refresh_differences`: a scratch rebuild from the whole lake, EXCEPT ALL both ways)."""
from __future__ import annotations

import gzip
from datetime import datetime, timedelta

import duckdb
import pytest

from pipelines.lib.layout import Layout
from pipelines.lib.privacy.erasure import erase_members
from pipelines.lib.warehouse.replay import Difference, NothingToCompare, built_night, full_refresh_differences
from pipelines.runner import run_night, run_nights
from tests.conftest import WORLD_DAYS, WORLD_START
from tests.warehouse.conftest import dbt_build, query


LAST = WORLD_START + timedelta(days=WORLD_DAYS - 1)
BY_DELIVERY = ["stg_ads__clicks", "stg_app__events", "stg_crm__member_first_deliveries", "stg_guide__events",
               "stg_live__events", "stg_miniprogram__events", "stg_official_account__events", "stg_pos__order_lines",
               "stg_web__events"]


def loaded(data_dir, table: str) -> dict:
    return dict(query(data_dir, f"SELECT delivery_date, count(*) FROM {table} GROUP BY 1"))


def deliver_a_late_ad_click(data_dir) -> str:
    """A mini-program visit on LAST - 2 that carries an ad's click id, by the customer (with such
    visits) whose events ended first, and the ad platform's log of that click one delivery later.
    The click id is placeholder text, which identity resolution ignores: the ad log's row belongs
    to nobody, and only the click id ties its campaign to the visit. Added to the lake's files of
    deliveries the warehouse has not loaded yet. Returns the click id."""
    layout = Layout(data_dir)
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        [(landing,)] = con.execute(
            "SELECT arg_min(click_id, (last_event, click_id)) FROM events JOIN (SELECT customer_id, "
            "max(business_date) AS last_event FROM events GROUP BY 1) USING (customer_id) "
            "WHERE source = 'miniprogram' AND click_id IS NOT NULL AND customer_id <> 'anonymous'").fetchall()
    click = "undefined"
    visit_day, log_day = LAST - timedelta(days=2), LAST - timedelta(days=1)
    for entity, day, row in (
            ("miniprogram/events", visit_day,
             f"SELECT * REPLACE ('{click}' AS gdt_vid, TIMESTAMP '{visit_day} 02:00:00' AS occurred_at) "
             f"FROM read_parquet('{layout.lake}/miniprogram/events/*/*.parquet', hive_partitioning = false) "
             f"WHERE gdt_vid = '{landing}' ORDER BY _source_file, _source_line LIMIT 1"),
            ("ads/clicks", log_day,
             f"SELECT * REPLACE ('{click}' AS click_id, 'late-campaign' AS campaign_id, 'late-creative' AS creative_id, "
             f"NULL AS device_id, TIMESTAMP '{visit_day} 01:59:00' AS occurred_at) "
             f"FROM read_parquet('{layout.lake}/ads/clicks/*/*.parquet', hive_partitioning = false) "
             f"WHERE click_id IS NOT NULL ORDER BY _source_file, _source_line LIMIT 1")):
        part = layout.lake / entity / f"delivery_date={day}" / "part-0.parquet"
        grown = part.with_name("part-grown.parquet")
        duckdb.execute(f"COPY (SELECT * FROM read_parquet('{part}', hive_partitioning = false) "
                       f"UNION ALL ({row})) TO '{grown}'")
        grown.replace(part)
    return click


def test_nights_built_one_after_another_equal_a_full_refresh_and_leave_earlier_deliveries_alone(month_copy):
    data_dir, settings = month_copy
    # replay an earlier night: the later deliveries leave the incremental tables
    dbt_build(data_dir, str(LAST - timedelta(days=3)))
    assert max(loaded(data_dir, "stg_app__events")) == LAST - timedelta(days=3)
    assert full_refresh_differences(settings) == (LAST - timedelta(days=3), [])

    # old rows marked by hand survive the next nights: they load only their own delivery; an
    # event whose record identity resolution moves to another customer is derived again
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        marked = con.execute("UPDATE stg_app__events SET page_url = 'marked' WHERE record_id = "
                             "(SELECT min(record_id) FROM stg_app__events WHERE delivery_date = ?)",
                             [WORLD_START]).fetchone()[0]
        [(event, customer)] = con.execute(
            "SELECT event_id, customer_id FROM events WHERE source = 'web' AND delivery_date = ? "
            "AND customer_id <> 'anonymous' ORDER BY event_id LIMIT 1", [WORLD_START]).fetchall()
        # as if the last build had resolved the event's identifiers to another customer: the next
        # one moves its record back (`record_customers` logs it) and `events` reads the log
        [(record,)] = con.execute("SELECT record_id FROM events WHERE event_id = ?", [event]).fetchall()
        con.execute("UPDATE events SET customer_id = 'moved-away' WHERE event_id = ?", [event])
        con.execute("UPDATE record_customers SET customer_id = 'moved-away' WHERE source = 'web' AND record_id = ?",
                    [record])
        # (its identifiers kept under that customer, and logged as derived again by that build)
        con.execute("UPDATE record_customers_identifiers SET customer_id = 'moved-away' WHERE node_id IN (SELECT "
                    "node_id FROM identity_occurrences WHERE source = 'web' AND record_id = ?)", [record])
        con.execute("INSERT INTO restated_nodes SELECT 'identity_resolution', (SELECT max(seq) + 1 FROM restated_nodes "
                    "WHERE model = 'identity_resolution'), node_id FROM identity_occurrences "
                    "WHERE source = 'web' AND record_id = ?", [record])
        # the traits' customer-day parts: the moved event's customer-day is derived again when
        # `events` moves it back (its log says so); a customer-day nothing touches keeps its mark
        con.execute("UPDATE traits_engagement_days SET day_rows = day_rows + 1000 WHERE customer_id = ? "
                    "AND business_date = (SELECT business_date FROM events WHERE event_id = ?)", [customer, event])
        [(untouched,)] = con.execute("SELECT arg_min(customer_id, (last_touch, customer_id)) FROM (SELECT "
                                     "customer_id, max(touched_at) AS last_touch FROM touchpoints GROUP BY 1)").fetchall()
        con.execute("UPDATE traits_engagement_days SET day_rows = day_rows + 1000 WHERE (customer_id, business_date) = "
                    "(SELECT (customer_id, min(business_date)) FROM traits_engagement_days WHERE customer_id = ? "
                    "GROUP BY customer_id)", [untouched])
        # their lifetime rows likewise: the moved event's customer is derived again, the other is kept
        con.execute("UPDATE traits_engagement_lifetime SET avg_discount_rate__count = avg_discount_rate__count + 1000 "
                    "WHERE customer_id IN (?, ?)", [customer, untouched])
        [(lifetime_marked,)] = con.execute("SELECT count(*) FROM traits_engagement_lifetime "
                                           "WHERE avg_discount_rate__count >= 1000").fetchall()
        assert lifetime_marked == 2
        con.execute("UPDATE events SET page_url = 'marked' WHERE event_id = (SELECT min(event_id) FROM events "
                    "WHERE source = 'app' AND delivery_date = ? AND event_id <> ?)", [WORLD_START, event])
        # the identifier whose component was last seen first: the next nights touch no node of that
        # component, so the graph keeps its rows (only what a night touches is derived again)
        [(node,)] = con.execute("SELECT arg_min(node_id, (component_last_seen, node_id)) FROM (SELECT node_id, "
                                "max(last_seen_at) OVER (PARTITION BY component_id) AS component_last_seen "
                                "FROM identity_resolution)").fetchall()
        con.execute("UPDATE identity_identifiers SET occurrences = occurrences + 1000 WHERE node_id = ?", [node])
        con.execute("UPDATE identity_resolution SET source_count = source_count + 1000 WHERE node_id = ?", [node])
        con.execute("UPDATE record_customers_identifiers SET customer_id = 'kept' WHERE node_id = ?", [node])
        # the customer whose touches ended first: the next nights bring them nothing new
        con.execute("UPDATE customer_touchpoints SET channel = 'marked' WHERE touch_id = (SELECT arg_min(touch_id, "
                    "(touched_at, touch_id)) FROM touchpoints WHERE customer_id = (SELECT arg_min(customer_id, "
                    "(last_touch, customer_id)) FROM (SELECT customer_id, max(touched_at) AS last_touch "
                    "FROM touchpoints GROUP BY 1)))")
        # the golden record of the non-member seen last the earliest: nothing touches them (their
        # row is kept), and one of a customer identity resolution no longer knows (it goes)
        con.execute("UPDATE customers SET identifier_count = identifier_count + 1000 WHERE customer_id = (SELECT "
                    "arg_min(customer_id, (last_seen_at, customer_id)) FROM customers WHERE NOT is_member)")
        con.execute("INSERT INTO customers BY NAME SELECT * REPLACE ('c-gone' AS customer_id) FROM customers LIMIT 1")
        # the first touch of a member the app sees again in the next nights, without click ids, whose
        # touches began weeks before: the next nights derive their touches again from a cut, so it
        # keeps its mark (its count of events, which the attribution does not read)
        cut_customer, cut_touch = con.execute(
            "SELECT arg_min((t.customer_id, t.touch_id), (t.touched_at, t.touch_id)) FROM touchpoints t "
            "JOIN identity_map m USING (customer_id) WHERE m.id_type = 'member_id' AND m.id_value IN (SELECT user_id "
            "FROM read_parquet(?, hive_partitioning = true) WHERE delivery_date > ?) AND t.customer_id NOT IN "
            "(SELECT customer_id FROM events WHERE click_id IS NOT NULL) AND t.touched_at < ?",
            [f"{Layout(data_dir).lake}/app/events/*/*.parquet", LAST - timedelta(days=3),
             LAST - timedelta(days=10)]).fetchone()[0]
        con.execute("UPDATE customer_touchpoints SET events = events + 1000 WHERE touch_id = ?", [cut_touch])
    assert marked == 1
    # a customer's touch gets its campaign from an ad log delivered after the visit: the customer
    # has no event that night, yet their touches are derived again (their click ids' digest)
    late_click = deliver_a_late_ad_click(data_dir)
    for night in (LAST - timedelta(days=2), LAST - timedelta(days=1), LAST):
        out = dbt_build(data_dir, str(night))
        assert "incremental model main.stg_app__events" in out and "incremental model main.events" in out
    assert query(data_dir, "SELECT count(*) FROM stg_app__events WHERE page_url = 'marked'") == [(1,)]
    assert query(data_dir, "SELECT count(*) FROM events WHERE page_url = 'marked'") == [(1,)]
    assert query(data_dir, "SELECT customer_id FROM events WHERE event_id = ?", event) == [(customer,)]
    assert query(data_dir, "SELECT count(*) FROM moved_records WHERE source = 'web' AND record_id = ?", record) == [(1,)]
    assert query(data_dir, "SELECT version FROM delivery_loads WHERE model = 'events' AND source = 'moved_records'") == \
        query(data_dir, "SELECT max(seq)::varchar FROM moved_records WHERE model = 'record_customers'")
    assert query(data_dir, "SELECT count(*) FROM touchpoints WHERE channel = 'marked'") == [(1,)]
    assert query(data_dir, "SELECT events >= 1000 FROM touchpoints WHERE touch_id = ?", cut_touch) == [(True,)]
    # (their events were logged, and they have touches of those nights)
    assert query(data_dir, "SELECT count(*) > 0 FROM touchpoints WHERE customer_id = ? AND business_date > ?",
                 cut_customer, LAST - timedelta(days=3)) == [(True,)]
    assert query(data_dir, "SELECT count(*) FROM customers WHERE identifier_count >= 1000") == [(1,)]
    assert query(data_dir, "SELECT customer_id FROM traits_engagement_lifetime WHERE avg_discount_rate__count >= 1000") \
        == [(untouched,)]
    # `record_customers` took again the customers of the logged nodes only
    assert query(data_dir, "SELECT count(*) FROM record_customers_identifiers WHERE customer_id = 'kept'") == [(1,)]
    assert query(data_dir, "SELECT count(*) FROM record_customers_identifiers") == \
        query(data_dir, "SELECT count(*) FROM identity_resolution")
    assert query(data_dir, "SELECT count(*) FROM customers WHERE customer_id = 'c-gone'") == [(0,)]
    # each step of the identity graph read the nodes its parent logged, every build of it since
    # (and the tables derived from it)
    for model, parent in (("identity_identifiers", "identity_occurrences"), ("identity_edges", "identity_identifiers"),
                          ("identity_components", "identity_edges"), ("identity_clusters", "identity_components"),
                          ("identity_resolution", "identity_clusters"), ("record_customers", "identity_resolution"),
                          ("customers", "identity_resolution")):
        assert query(data_dir, "SELECT version FROM delivery_loads WHERE model = ? AND source = 'nodes'", model) == \
            query(data_dir, "SELECT max(seq)::varchar FROM restated_nodes WHERE model = ?", parent)
    [(restated, nodes)] = query(data_dir, "SELECT (SELECT count(DISTINCT node_id) FROM restated_nodes WHERE model = "
                                          "'identity_components' AND seq = (SELECT max(seq) FROM restated_nodes WHERE "
                                          "model = 'identity_components')), count(*) FROM identity_components")
    assert 0 < restated < nodes / 2
    assert query(data_dir, "SELECT campaign_id, creative_id FROM touchpoints WHERE click_id = ?", late_click) == [
        ("late-campaign", "late-creative")]
    assert built_night(Layout(data_dir).warehouse) == LAST
    # a CRM member's registration keeps the snapshot that first carried them: tonight's snapshot
    # of an unchanged member is no change to what `events` logs
    [(registrations, redelivered)] = query(
        data_dir, "SELECT count(*), count(*) FILTER (WHERE e.delivery_date <> f.first_delivery) FROM events e "
                  "JOIN (SELECT member_id, min(delivery_date) AS first_delivery FROM read_parquet("
                  f"'{Layout(data_dir).lake}/crm/members/*/part-0.parquet', hive_partitioning = true) GROUP BY 1) f "
                  "ON f.member_id = e.record_id WHERE e.source = 'crm'")
    assert registrations > 0 and redelivered == 0
    # the audit sees the hand-made changes, and nothing else
    assert full_refresh_differences(settings) == (LAST, [Difference("customers", 1, 1),
                                                        Difference("events", 1, 1),
                                                        Difference("identity_identifiers", 1, 1),
                                                        Difference("identity_resolution", 1, 1),
                                                        Difference("stg_app__events", 1, 1),
                                                        Difference("touchpoints", 2, 2),
                                                        Difference("traits_engagement_days", 1, 1),
                                                        Difference("traits_engagement_lifetime", 1, 1)])
    assert query(data_dir, "SELECT DISTINCT model FROM delivery_loads ORDER BY 1") == [
        (m,) for m in ["customer_touchpoints", "customers", "events", "funnel_steps", "identity_clusters", "identity_components",
                       "identity_edges", "identity_identifiers", "identity_occurrences", "identity_resolution",
                       "record_customers", *BY_DELIVERY, "traits_engagement_day_values", "traits_engagement_days",
                       "traits_engagement_lifetime"]]
    # the parts, the funnel and the touches read the customer-days `events` logged: each of its builds since
    for model in ("customer_touchpoints", "customers", "funnel_steps", "traits_engagement_day_values",
                  "traits_engagement_days", "traits_engagement_lifetime"):
        assert query(data_dir, "SELECT source, version FROM delivery_loads WHERE model = ? AND source = 'customer_days'",
                     model) == query(data_dir, "SELECT 'customer_days', max(seq)::varchar FROM restated_customer_days "
                                               "WHERE model = 'events'")
    # each night restates only the deliveries it loaded, the mutable sources and moved records
    for model in ("events", "identity_occurrences", "record_customers"):
        assert query(data_dir, "SELECT DISTINCT source FROM delivery_loads WHERE model = ? "
                               "AND source NOT IN ('moved_records', 'nodes') ORDER BY 1", model) == [
            ("ads",), ("app",), ("guide",), ("inputs",), ("live",), ("miniprogram",), ("official_account",), ("web",)]


def test_a_step_of_the_identity_graph_rebuilt_whole_makes_every_later_step_derive_everything(month_copy):
    """When `identity_identifiers` cannot say what changed (its code or seeds changed: here its
    stored digest is taken away), it derives every identifier and logs "everything", and each
    later step derives everything too, down to `record_customers`: rows marked by hand anywhere
    in the graph go."""
    data_dir, settings = month_copy
    graph = ["identity_identifiers", "identity_edges", "identity_components", "identity_clusters", "identity_resolution"]
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("UPDATE identity_edges SET records = records + 1000 WHERE (node_a, node_b) = "
                    "(SELECT (node_a, node_b) FROM identity_edges ORDER BY first_seen_at, node_a, node_b LIMIT 1)")
        con.execute("UPDATE identity_resolution SET source_count = source_count + 1000 WHERE node_id = "
                    "(SELECT min(node_id) FROM identity_resolution)")
        con.execute("UPDATE record_customers SET delivery_date = DATE '1900-01-01' WHERE (source, record_id) = "
                    "(SELECT (source, record_id) FROM record_customers ORDER BY source, record_id LIMIT 1)")
        con.execute("DELETE FROM delivery_loads WHERE model = 'identity_identifiers' AND source = 'inputs'")
    dbt_build(data_dir, str(LAST), select=[*graph, "record_customers"])
    assert query(data_dir, "SELECT count(*) FROM record_customers WHERE delivery_date = DATE '1900-01-01'") == [(0,)]
    assert query(data_dir, "SELECT count(*) FROM identity_edges WHERE records >= 1000") == [(0,)]
    assert query(data_dir, "SELECT count(*) FROM identity_resolution WHERE source_count >= 1000") == [(0,)]
    # each logging step's last build logged "everything": one row without a node
    assert query(data_dir, "SELECT model, count(*), count(node_id) FROM restated_nodes l WHERE model IN "
                           "('identity_identifiers', 'identity_edges', 'identity_components', 'identity_clusters', "
                           "'identity_resolution') AND seq = (SELECT max(seq) FROM restated_nodes WHERE model = l.model) "
                           "GROUP BY 1 ORDER BY 1") \
        == [("identity_clusters", 1, 0), ("identity_components", 1, 0), ("identity_edges", 1, 0),
            ("identity_identifiers", 1, 0), ("identity_resolution", 1, 0)]
    assert full_refresh_differences(settings) == (LAST, [])


def test_changed_seeds_restate_every_event(month_copy):
    """An event's channel comes from a seed: when the seed changes, a night derives every event
    again instead of only the night's deliveries."""
    data_dir, settings = month_copy
    dbt_build(data_dir, str(LAST))
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("UPDATE events SET channel = 'stale' WHERE delivery_date = ?", [WORLD_START])
        con.execute("UPDATE channel_mapping SET priority = priority")   # same rows: same digest
    dbt_build(data_dir, str(LAST), select=["events"])
    assert query(data_dir, "SELECT count(*) > 0 FROM events WHERE channel = 'stale'") == [(True,)]
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("DELETE FROM channel_mapping WHERE priority = (SELECT max(priority) FROM channel_mapping)")
    dbt_build(data_dir, str(LAST), select=["events"])
    assert query(data_dir, "SELECT count(*) FROM events WHERE channel = 'stale'") == [(0,)]


def test_a_redelivered_night_is_loaded_again_with_everything_after_it(month_copy):
    data_dir, settings = month_copy
    day = LAST - timedelta(days=5)
    before = loaded(data_dir, "stg_app__events")
    # the channel re-delivers that night's app file without its last line; the night is rerun
    raw = sorted((Layout(data_dir).delivery("app", day)).glob("*.jsonl.gz"))[-1]
    lines = gzip.decompress(raw.read_bytes()).splitlines(keepends=True)
    raw.write_bytes(gzip.compress(b"".join(lines[:-1])))
    assert run_night(day, settings, build=False).success
    dbt_build(data_dir, str(LAST))
    after = loaded(data_dir, "stg_app__events")
    assert before[day] - after[day] == 1
    assert {d: n for d, n in after.items() if d != day} == {d: n for d, n in before.items() if d != day}
    assert full_refresh_differences(settings) == (LAST, [])


def test_a_full_refresh_reloads_every_delivery_and_keeps_the_history_tables(month_copy, monkeypatch):
    """`cdp run --full-refresh` (a staging SQL change would not be noticed otherwise): the
    incremental tables are rebuilt from the lake, the nights the history tables remember stay."""
    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("UPDATE stg_app__events SET page_url = 'stale' WHERE delivery_date = ?", [WORLD_START])
    history = query(data_dir, "SELECT count(DISTINCT as_of_date), count(*) FROM customer_traits")
    [night] = run_nights([LAST], settings, full_refresh=True)
    assert night.success, night.explain()
    assert query(data_dir, "SELECT count(*) FROM stg_app__events WHERE page_url = 'stale'") == [(0,)]
    assert query(data_dir, "SELECT count(DISTINCT as_of_date), count(*) FROM customer_traits") == history
    assert full_refresh_differences(settings) == (LAST, [])


def test_an_erasure_reaches_the_incremental_tables_even_without_its_own_rebuild(month_copy):
    """Erasure rewrites lake files without a new ingest log entry; the erasure log is part of a
    delivery's version, so any later build takes the erased records out (a failed or skipped
    rebuild included), and only them: nothing after the rewritten deliveries is loaded again."""
    data_dir, settings = month_copy
    [(member, rows, first)] = query(data_dir, "SELECT member_id, count(*), min(delivery_date) FROM stg_app__events "
                                              "WHERE member_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
    assert rows > 1
    # another customer's event (the erasure cannot move it) delivered after the member's first: a
    # reload would load it again into staging and derive it again into events
    [(other, page_url)] = query(data_dir, "SELECT record_id, page_url FROM events WHERE source = 'app' "
                                          "AND delivery_date > ? AND customer_id NOT IN (SELECT customer_id FROM "
                                          "customers WHERE member_id = ?) ORDER BY record_id LIMIT 1", first, member)
    marks = {"stg_app__events": "not loaded again", "events": "not derived again"}

    def mark(values: dict[str, str | None]) -> None:
        with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
            for table, value in values.items():
                con.execute(f"UPDATE {table} SET page_url = ? WHERE source = 'app' AND record_id = ?", [value, other])

    mark(marks)
    report = erase_members(Layout(data_dir), LAST, [(member, datetime(2026, 1, 30, 8), False)])
    assert report.erased == 1 and report.rows_removed >= rows
    dbt_build(data_dir, str(LAST))          # an ordinary night's build: nothing says "erasure"
    assert query(data_dir, "SELECT count(*) FROM stg_app__events WHERE member_id = ?", member) == [(0,)]
    assert {table: query(data_dir, f"SELECT page_url FROM {table} WHERE source = 'app' AND record_id = ?", other)
            for table in marks} == {table: [(value,)] for table, value in marks.items()}
    mark(dict.fromkeys(marks, page_url))
    assert full_refresh_differences(settings) == (LAST, [])


def test_the_audit_compares_columns_by_name(month_copy):
    """A table built before a version that added a column holds it last (dbt's `sync_all_columns`
    appends it), wherever the model's SQL puts it: the audit still compares like with like."""
    data_dir, settings = month_copy
    with duckdb.connect(str(Layout(data_dir).warehouse)) as con:
        con.execute("CREATE OR REPLACE TABLE identity_occurrences AS "
                    "SELECT * EXCLUDE (node_id), node_id FROM identity_occurrences")
        con.execute("UPDATE identity_occurrences SET seen_at = seen_at + INTERVAL 1 SECOND "
                    "WHERE (source, record_id, id_type) = (SELECT (source, record_id, id_type) FROM identity_occurrences "
                    "ORDER BY source, record_id, id_type LIMIT 1)")
    assert full_refresh_differences(settings) == (LAST, [Difference("identity_occurrences", 1, 1)])


def test_the_audit_refuses_to_compare_what_was_never_built(tmp_path):
    (tmp_path / "warehouse").mkdir()
    duckdb.connect(str(Layout(tmp_path).warehouse)).close()
    with pytest.raises(NothingToCompare, match="no incremental table was built yet"):
        built_night(Layout(tmp_path).warehouse)


def test_the_nightly_job_leaves_the_weekly_audit_out():
    from pipelines.definitions import defs

    nightly = {n.name for n in defs().resolve_job_def("nightly").graph.node_defs}
    audit = [n.name for n in defs().resolve_job_def("incremental_audit").graph.node_defs]
    assert "matches_full_refresh" not in nightly and "warehouse" in nightly
    assert audit == ["matches_full_refresh"]


def test_a_member_who_gains_an_email_changes_the_degree_of_the_identifiers_they_had(month_copy):
    """A CRM member's snapshot gains an email: their member id's and phone's sightings stay as they
    were, yet both now share a record with one more value. Every identifier of a changed record
    is derived again: a restatement of identifiers must derive again every identifier of a
    changed record, not only those whose own sightings changed (a trap met while trying one)."""
    data_dir, settings = month_copy
    dbt_build(data_dir, str(LAST - timedelta(days=2)))
    layout = Layout(data_dir)
    parts = [layout.lake / "crm" / "members" / f"delivery_date={day}" / "part-0.parquet"
             for day in (LAST - timedelta(days=1), LAST)]
    # a member the CRM alone knows (their member id is on no other record)
    crm_only = [m for (m,) in query(data_dir, "SELECT id_value FROM identity_identifiers WHERE id_type = 'member_id' "
                                              "AND sources = ['crm'] AND degree = 1")]
    [(member,)] = duckdb.execute(
        f"SELECT min(member_id) FROM read_parquet('{parts[0]}') WHERE email IS NULL AND phone IS NOT NULL "
        f"AND member_id IN (SELECT member_id FROM read_parquet('{parts[1]}')) AND list_contains(?, member_id)",
        [crm_only]).fetchall()
    degree = "SELECT degree FROM identity_identifiers WHERE id_type = 'member_id' AND id_value = ?"
    assert query(data_dir, degree, member) == [(1,)]       # their phone
    for part in parts:     # the member's next two snapshots carry an email nobody else has
        grown = part.with_name("part-grown.parquet")
        duckdb.execute(f"COPY (SELECT * REPLACE (CASE WHEN member_id = '{member}' THEN 'grown.{member.lower()}"
                       f"@mail.cdp.cn' ELSE email END AS email) FROM read_parquet('{part}')) TO '{grown}'")
        grown.replace(part)
    for night in (LAST - timedelta(days=1), LAST):
        dbt_build(data_dir, str(night))
    assert query(data_dir, degree, member) == [(2,)]       # their phone and the email
    assert full_refresh_differences(settings) == (LAST, [])
