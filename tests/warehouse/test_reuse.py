"""A night with no new data keeps the models that do not read the night's date, and its warehouse
equals the one a build of everything gives; anything else that ran dbt, or any change to the
lake or the project, makes the next night build everything.

Real Dagster nights and real dbt builds over a copy of the month."""
from __future__ import annotations

import gzip
import json
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.snapshot import TABLES, publish_snapshot, snapshot_path
from pipelines.lib.warehouse.dbt import MANIFEST, PROJECT_DIR, build_vars
from pipelines.lib.warehouse.reuse import (current_state, lake_state, last_state, night_independent_models,
                                           project_state)
from pipelines.runner import run_nights
from tests.conftest import WORLD_DAYS, WORLD_START
from tests.warehouse.conftest import dbt_build, query


LAST = WORLD_START + timedelta(days=WORLD_DAYS - 1)
QUIET = LAST + timedelta(days=1)          # nobody delivered anything for this night


def built_models(data_dir) -> set[str]:
    results = json.loads((data_dir / "warehouse" / "dbt" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}


def differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ (rows only left, rows only right), doubles to 9 significant
    digits: parallel float sums differ in their last bits from one build to the next.
    `delivery_loads` records the night each staging table was loaded, and the change logs what
    each build changed (`restated_customer_days`, `restated_customers`, `moved_records`,
    `restated_nodes`): they differ by design."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{left}' AS l (READ_ONLY); ATTACH '{right}' AS r (READ_ONLY)")
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'r' "
            "AND table_name NOT IN ('build_state', 'delivery_loads', 'restated_customer_days', 'restated_customers', "
            "'moved_records', 'restated_nodes') "
            "ORDER BY 1").fetchall()]
        for table in tables:
            columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'r' "
                                  "AND table_name = ? ORDER BY column_index", [table]).fetchall()
            select = ", ".join(f"printf('%.9g', \"{c}\" + 0.0)" if t in ("DOUBLE", "FLOAT") else f"\"{c}\""
                               for c, t in columns)
            only = [con.execute(f"SELECT count(*) FROM (SELECT {select} FROM {a}.{table} EXCEPT ALL "
                                f"SELECT {select} FROM {b}.{table})").fetchone()[0] for a, b in (("l", "r"), ("r", "l"))]
            if any(only):
                found[table] = tuple(only)
    return found


def test_a_quiet_night_keeps_what_does_not_read_the_date_and_equals_a_full_build(month_copy, monkeypatch, tmp_path):
    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    kept = night_independent_models(json.loads(MANIFEST.read_text()))
    assert {"events", "touchpoints", "identity_resolution", "customers", "stg_app__events",
            "attribution_by_path", "traits_engagement_days", "traits_engagement_day_values", "funnel_steps",
            "converted_paths"} <= set(kept)
    assert not {"customer_traits", "traits_engagement", "audience_membership", "identity_changes",
                "attribution_markov", "attribution", "funnel_daily", "conversion_paths"} & set(kept)

    [night] = run_nights([QUIET], settings)
    assert night.success, night.explain()
    built = built_models(data_dir)
    assert built & set(kept) == set()                        # none of the kept models ran
    assert {"customer_traits", "audience_membership", "attribution_markov", "attribution"} <= built
    assert query(data_dir, "SELECT count(*) > 0 FROM customer_traits WHERE as_of_date = ?", QUIET) == [(True,)]
    assert last_state(Layout(data_dir)).night == QUIET.isoformat()
    from dagster import AssetKey, DagsterInstance
    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey("events"))
    assert event.asset_materialization.partition == QUIET.isoformat()
    assert event.asset_materialization.metadata["reused_from_night"].value == LAST.isoformat()
    # the analyst snapshot carried the kept tables over from last night's file (a view too, when
    # what it reads was kept), copied the history tables' new night only and the rest whole, and
    # holds exactly what the warehouse holds; `attribution` is a view over its parts there too
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{snapshot_path(Layout(data_dir))}' AS s (READ_ONLY)")
        con.execute(f"ATTACH '{Layout(data_dir).warehouse}' AS w (READ_ONLY)")
        [(carried, as_of, nights)] = con.execute("SELECT carried_over, as_of_date, copied_nights FROM s._snapshot") \
            .fetchall()
        assert as_of == QUIET
        assert {"events", "customers", "identity_map", "orders", "conversions", "touchpoints",
                "attribution_by_path"} <= set(carried)
        assert not {"customer_traits", "audience_membership", "attribution_markov", "attribution"} & set(carried)
        assert con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = 's' AND NOT internal") \
            .fetchall() == [("attribution",)]
        assert json.loads(nights) == {t: [QUIET.isoformat()] for t in
                                      ("audience_changes", "audience_membership", "customer_traits",
                                       "lifecycle_transitions")}
        assert con.execute("SELECT list(DISTINCT as_of_date ORDER BY as_of_date) FROM s.customer_traits") \
            .fetchone()[0] == [LAST, QUIET]
        for table in TABLES:
            assert con.execute(f"SELECT (SELECT count(*) FROM (FROM s.{table} EXCEPT ALL FROM w.{table})), "
                               f"(SELECT count(*) FROM (FROM w.{table} EXCEPT ALL FROM s.{table}))").fetchone() \
                == (0, 0), table
        assert con.execute("SELECT count(*) > 0 FROM s.customer_traits WHERE as_of_date = ?", [QUIET]).fetchone()[0]

    # the same night built from scratch (a hand-run dbt build: it also forgets the build state)
    reused = tmp_path / "reused.duckdb"
    shutil.copy(Layout(data_dir).warehouse, reused)
    dbt_build(data_dir, QUIET.isoformat())
    assert last_state(Layout(data_dir)) is None
    assert differences(reused, Layout(data_dir).warehouse) == {}


def snapshot_differences(layout: Layout) -> dict[str, tuple[int, int]]:
    """Tables of the analyst snapshot whose rows differ from the warehouse's (rows only in the
    snapshot, rows only in the warehouse)."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{snapshot_path(layout)}' AS s (READ_ONLY)")
        con.execute(f"ATTACH '{layout.warehouse}' AS w (READ_ONLY)")
        for table in TABLES:
            only = con.execute(f"SELECT (SELECT count(*) FROM (FROM s.{table} EXCEPT ALL FROM w.{table})), "
                               f"(SELECT count(*) FROM (FROM w.{table} EXCEPT ALL FROM s.{table}))").fetchone()
            if any(only):
                found[table] = only
    return found


def test_a_night_with_new_events_copies_only_what_changed_into_the_snapshot(month_copy, monkeypatch):
    """A night that brings a few late events restates their customer-days in `events` and their
    customers in the tables restated per customer, and the analyst snapshot copies again only
    those (the log entries since the published file), not every row; a build the log cannot
    account for makes it copy the table whole."""
    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    layout = Layout(data_dir)
    # the app channel delivers, the next night, 40 events it had missed (new ids, old clocks: three
    # hours after events it had sent, so that the app visits are touches and customers are seen later)
    lines = gzip.decompress(sorted(layout.delivery("app", LAST).glob("*.jsonl.gz"))[0].read_bytes()).splitlines()
    late = []
    for line in lines[:40]:
        event = json.loads(line)
        event["messageId"] = str(uuid.uuid5(uuid.NAMESPACE_OID, event["messageId"]))
        event["timestamp"] = (datetime.fromisoformat(event["timestamp"]) + timedelta(hours=3)).isoformat(
            timespec="milliseconds")
        late.append(json.dumps(event).encode())
    layout.delivery("app", QUIET).mkdir(parents=True)
    (layout.delivery("app", QUIET) / f"events-{QUIET}-part-0001.jsonl.gz").write_bytes(gzip.compress(b"\n".join(late) + b"\n"))
    late_ids = [str(uuid.uuid5(uuid.NAMESPACE_OID, json.loads(line)["messageId"])) for line in lines[:40]]

    digests = "SELECT DISTINCT customer_id, inputs_digest FROM attribution_by_path"
    credited_before = set(query(data_dir, digests))
    logged_before = dict(query(data_dir, "SELECT model, max(seq) FROM restated_customers GROUP BY model"))
    [night] = run_nights([QUIET], settings)
    assert night.success, night.explain()
    # the path credits were derived again for the customers whose digest changed, not for all
    credited = set(query(data_dir, digests))
    rederived = {c for c, _ in credited ^ credited_before}
    assert len(rederived) < len({c for c, _ in credited})
    [(changed, seq, customer_days)] = query(
        data_dir, "SELECT (SELECT count(DISTINCT (customer_id, business_date)) FROM restated_customer_days "
                  "WHERE model = 'events' AND seq = (SELECT max(seq) FROM restated_customer_days WHERE model = 'events')), "
                  "(SELECT max(seq) FROM restated_customer_days WHERE model = 'events'), "
                  "(SELECT count(DISTINCT (customer_id, business_date)) FROM events)")
    assert 0 < changed <= 40 < customer_days
    with duckdb.connect(str(snapshot_path(layout)), read_only=True) as con:
        [(carried, copied, read, found)] = con.execute(
            "SELECT carried_over, copied_customer_days, customer_days_read, (SELECT count(*) FROM events "
            "WHERE record_id IN (SELECT unnest(?::VARCHAR[]))) FROM _snapshot", [late_ids]).fetchall()
    assert carried == []          # new data: every table was built again
    assert json.loads(copied) == {"events": changed} and json.loads(read) == {"events": seq}
    # the tables restated per customer logged the customers whose rows changed (the path credits:
    # exactly those whose digest changed), and the snapshot copied those again
    logged = {model: {c for (c,) in query(data_dir, "SELECT customer_id FROM restated_customers WHERE model = ? "
                                                    "AND seq > ?", model, logged_before[model])}
              for model in ("customers", "customer_touchpoints", "attribution_by_path")}
    assert logged["attribution_by_path"] == rederived
    customers_seq = dict(query(data_dir, "SELECT model, max(seq) FROM restated_customers GROUP BY model"))
    [(everyone,)] = query(data_dir, "SELECT count(*) FROM customers")
    assert 0 < len(logged["customers"]) < everyone / 2 and 0 < len(logged["customer_touchpoints"]) < everyone / 2, \
        {m: len(c) for m, c in logged.items()}
    with duckdb.connect(str(snapshot_path(layout)), read_only=True) as con:
        [(copied_customers, customers_read)] = con.execute("SELECT copied_customers, customers_read FROM _snapshot") \
            .fetchall()
    tables = {"customers": "customers", "touchpoints": "customer_touchpoints",
              "attribution_by_path": "attribution_by_path"}
    assert json.loads(copied_customers) == {t: len(logged[m]) for t, m in tables.items()}
    assert json.loads(customers_read) == {t: customers_seq[m] for t, m in tables.items()}
    assert found == query(data_dir, "SELECT count(*) FROM events WHERE record_id IN (SELECT unnest(?::VARCHAR[]))",
                          late_ids)[0][0] > 0
    assert snapshot_differences(layout) == {}

    # builds that rewrote `events` and `customer_touchpoints` whole (a full refresh logs
    # "everything"), and one that restated some customers of `customers`: the first two copied
    # whole, those customers copied again (the row changed behind the log's back shows it)
    moved = sorted(logged["customers"])[0]
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("INSERT INTO restated_customer_days VALUES ('events', ?, NULL, NULL)", [seq + 1])
        con.execute("INSERT INTO restated_customers VALUES ('customer_touchpoints', ?, NULL)",
                    [customers_seq["customer_touchpoints"] + 1])
        con.execute("INSERT INTO restated_customers VALUES ('customers', ?, ?)", [customers_seq["customers"] + 1, moved])
        con.execute("UPDATE customers SET city = 'Lhasa' WHERE customer_id = ?", [moved])
        con.execute("UPDATE table_builds SET build = 'rewritten' "
                    "WHERE table_name IN ('events', 'customer_touchpoints', 'customers')")
        con.execute("INSERT INTO build_log SELECT max(seq) + 1, 'rewritten', ? FROM build_log", [QUIET])
    publish_snapshot(layout, QUIET, "test")
    with duckdb.connect(str(snapshot_path(layout)), read_only=True) as con:
        assert con.execute("SELECT copied_customer_days, customer_days_read, copied_customers FROM _snapshot") \
            .fetchone() == ("{}", json.dumps({"events": seq + 1}), json.dumps({"customers": 1}))
        assert con.execute("SELECT city FROM customers WHERE customer_id = ?", [moved]).fetchone() == ("Lhasa",)
    assert snapshot_differences(layout) == {}


def test_new_data_another_project_or_another_dbt_run_build_everything(month_copy, monkeypatch):
    data_dir, settings = month_copy
    monkeypatch.setenv("CDP_DAGSTER_STORAGE", str(data_dir / ".dagster"))
    layout = Layout(data_dir)
    state = current_state(layout, PROJECT_DIR, LAST, build_vars(settings))
    assert last_state(layout) == state          # the month's last night was built through Dagster

    # a quiet night reads the same lake slice as the last night; an earlier night does not
    assert lake_state(layout, QUIET) == state.lake
    assert lake_state(layout, LAST - timedelta(days=1)) != state.lake
    # how the build runs does not matter; what it computes does
    vars_ = json.loads(build_vars(settings))
    assert project_state(PROJECT_DIR, json.dumps({**vars_, "duckdb_threads": "1", "duckdb_temp_directory": "/x"})) \
        == state.project
    assert project_state(PROJECT_DIR, json.dumps({**vars_, "business_tz": "UTC"})) != state.project

    # an erasure rewrites the lake (its log is part of the lake's state)
    layout.erasure_log.write_bytes(b"not the same log")
    assert lake_state(layout, QUIET) != state.lake
    layout.erasure_log.unlink()

    # any other dbt run empties the record: the next night builds every model
    dbt_build(data_dir, LAST.isoformat(), select=["events"])
    assert last_state(layout) is None
    [night] = run_nights([QUIET], settings)
    assert night.success, night.explain()
    assert {"events", "touchpoints", "identity_resolution"} <= built_models(data_dir)
    # nor does the analyst snapshot carry anything over from the file before, not even nights
    with duckdb.connect(str(snapshot_path(layout)), read_only=True) as con:
        assert con.execute("SELECT carried_over, copied_nights FROM _snapshot").fetchone() == ([], "{}")


def dbt_invocations(data_dir: Path) -> list[set[str]]:
    """The names of dbt's events per invocation, oldest first, from the warehouse build's log
    (dbt rotates it at 10 MB: `dbt.log.2`, `dbt.log.1`, then `dbt.log`)."""
    logs = sorted((data_dir / "warehouse" / "dbt").glob("dbt.log*"),
                  key=lambda f: -int(f.suffix[1:]) if f.suffix[1:].isdigit() else 0)
    events = [json.loads(line) for log in logs for line in log.read_text().splitlines() if line.startswith("{")]
    order = list(dict.fromkeys(e["info"]["invocation_id"] for e in events))
    return [{e["info"]["name"] for e in events if e["info"]["invocation_id"] == i} for i in order]


def test_a_night_parses_only_what_changed_in_the_project(ingested_month):
    """The night is in dbt's environment, not in its vars: one night after another in the same
    data directory, dbt keeps its parsed project instead of parsing it all again (5 s a night)."""
    data_dir, _, _ = ingested_month
    last = dbt_invocations(data_dir)[-1]
    assert "PartialParsingEnabled" in last and "UnableToPartialParse" not in last
