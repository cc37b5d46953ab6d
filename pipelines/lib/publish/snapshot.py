"""The analyst snapshot (published contract §1): `published/cdp.duckdb`.

Built aside from the working warehouse after the night's gates passed, then renamed over the
previous one: an analyst's open connection keeps reading the file it opened (the old inode), a
new connection sees the new night, nobody sees half of one. The file is written in DuckDB's
storage format v1.2.0, which DuckDB 1.x clients (notebooks, DBeaver, BI tools) still open.
Tables and columns carry the dbt descriptions as comments (`duckdb_tables()`/`duckdb_columns()`
show them); `_snapshot` says which night and run it holds.

A night copies only what changed: the new file starts as a copy of the published one, and a
table whose warehouse build id (`table_builds`, `pipelines/lib/warehouse/reuse.py`) is the one
the published file recorded for it is carried over as it is (a quiet night keeps `events`,
`customers`, `orders`...). A history table (one row set per night: `customer_traits`, the
audience ledgers) copies again only the nights built since the published file's build
(`nights_built_since`) and drops those the warehouse forgot; copying a year of traits every
night would cost a year of rows. `events` (restated by record) copies again only the customer-days
its builds since the published file logged as changed (`restated_customer_days`), unless a
build since rewrote it whole: copying every event for a night's new ones would cost the history.
`attribution_by_path` (restated per customer) copies again only the customers whose inputs'
digest differs from the published rows' (`_copy_changed_customers`).
A warehouse view is copied as a table, and carried while its
build id and those of everything it reads are the published ones (`_view_builds`). `attribution`
is a view over its two parts in both files: a quiet night copies only `attribution_markov`.
Build ids are trusted only while no writer but the nightly build touched the warehouse since
(its `build_state` row).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.gates import admit
from pipelines.lib.warehouse.reuse import customer_days_logged, customer_days_since, nights_built_since, table_builds

STORAGE_VERSION = "v1.2.0"
# The contract's tables first, then the marts analysts asked for.
TABLES = ("customers", "identity_map", "events", "orders", "customer_traits", "audience_membership",
          "audience_changes", "touchpoints", "attribution_by_path", "attribution_markov", "attribution",
          "channel_performance",
          "lifecycle_transitions", "conversions", "conversion_paths", "markov_removal_effects", "ad_conversions",
          "funnel_daily", "article_performance", "live_performance", "store_performance", "guide_performance",
          "products", "audience_product_affinity", "cohort_retention", "experiment_exposures",
          "experiment_results")
# Tables the snapshot holds as a view over parts it copies, as the warehouse builds them
# (models/attribution/attribution.sql): the parts change on different nights.
UNIONS = {"attribution": ("attribution_by_path", "attribution_markov")}
# Tables whose builds log the customer-days they change (dbt_project/macros/customer_days.sql).
BY_CUSTOMER_DAY = ("events",)
# Tables restated per customer whose rows carry the digest of their customer's inputs
# (`restated_by_customer_digest`, same file): customers whose digest differs are copied again.
BY_CUSTOMER_DIGEST = ("attribution_by_path",)


def snapshot_path(layout: Layout) -> Path:
    return layout.data_dir / "published" / "cdp.duckdb"


def published_night(layout: Layout) -> date | None:
    """The night the published snapshot holds: the last night every gate passed."""
    path = snapshot_path(layout)
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute("SELECT as_of_date FROM _snapshot").fetchall()[0][0]
    except duckdb.Error:        # unreadable: no reference, the gates compare with the previous night
        return None


def _manifest_nodes(target_dir: Path) -> list[dict]:
    manifest = target_dir / "manifest.json"
    if not manifest.exists():
        return []
    return [n for n in json.loads(manifest.read_text())["nodes"].values() if n["resource_type"] in ("model", "seed")]


def _descriptions(nodes: list[dict]) -> dict[str, tuple[str, dict[str, str]]]:
    """model -> (its description, {column: description}) from dbt's manifest."""
    return {n["name"]: (n.get("description") or "",
                        {c: d.get("description") or "" for c, d in n.get("columns", {}).items()}) for n in nodes}


def _history_tables(nodes: list[dict]) -> set[str]:
    """Models kept night by night (`nightly_history`: each build replaces its night's rows)."""
    return {n["name"] for n in nodes if n.get("config", {}).get("unique_key") == "as_of_date"}


def _quoted(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def publish_snapshot(layout: Layout, night: date, run_id: str) -> dict[str, int]:
    """Builds the new file beside the published one and swaps it in; rows per table.
    Refused (`PublishRefused`, yesterday's file stays) when a gate guarding any of them refused."""
    admit(layout.warehouse.parent / "dbt", TABLES, "the analyst snapshot")
    target = snapshot_path(layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = layout.staging / "publish" / f"cdp-{os.getpid()}.duckdb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    leftovers = (scratch, scratch.with_name(scratch.name + ".wal"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    nodes = _manifest_nodes(layout.warehouse.parent / "dbt")
    docs, history = _descriptions(nodes), _history_tables(nodes)
    published, published_days = _published_state(target)
    rows: dict[str, int] = {}
    try:
        with duckdb.connect() as con:
            con.execute(f"ATTACH '{layout.warehouse}' AS w (READ_ONLY)")
            builds = table_builds(con, "w")
            base = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'w'").fetchall()}
            views = {r[0] for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = 'w'").fetchall()}
            present = base | views
            unions = {v: parts for v, parts in UNIONS.items() if v in views and set(parts) <= base}
            builds |= _view_builds(nodes, builds, views)
            carried = {t for t in TABLES if t in present and t not in unions and builds.get(t)
                       and published.get(t) == builds[t]}
            by_night = {t: nights for t in TABLES if t in base and t in history and t not in carried
                        and builds.get(t) and published.get(t)
                        and (nights := nights_built_since(con, "w", published[t])) is not None}
            # only along the build chain (an erasure breaks it: the rows it removed are in no log)
            by_days = {t: days for t in BY_CUSTOMER_DAY if t in base and t not in carried
                       and builds.get(t) and published.get(t) and t in published_days
                       and nights_built_since(con, "w", published[t]) is not None
                       and (days := customer_days_since(con, "w", t, published_days[t])) is not None}
            by_digest = {t for t in BY_CUSTOMER_DIGEST if t in base and t not in carried
                         and builds.get(t) and published.get(t)
                         and nights_built_since(con, "w", published[t]) is not None}
            # Only then start from the published file: a dropped table's blocks keep its old bytes
            # until reused, and after an erasure (which empties `build_state` and starts a new
            # build chain) nothing is carried, so the file is written from scratch without the person.
            if carried or by_night or by_days or by_digest:
                shutil.copyfile(target, scratch)
            con.execute(f"ATTACH '{scratch}' AS s (STORAGE_VERSION '{STORAGE_VERSION}')")
            held = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 's'").fetchall()}
            carried &= held
            by_night = {t: nights for t, nights in by_night.items() if t in held and _same_columns(con, t)}
            by_days = {t: days for t, days in by_days.items() if t in held and _same_columns(con, t)}
            by_digest = {t for t in by_digest if t in held and _same_columns(con, t)}
            for view in {r[0] for r in con.execute(
                    "SELECT view_name FROM duckdb_views() WHERE database_name = 's'").fetchall()}:
                con.execute(f'DROP VIEW s."{view}"')
            for table in held - carried - set(by_night) - set(by_days) - by_digest:
                con.execute(f'DROP TABLE s."{table}"')
            copied_days: dict[str, int] = {}
            copied_customers: dict[str, int] = {}
            for table in TABLES:
                if table not in present:
                    continue
                if table in unions:
                    _union(con, table, unions[table])
                    _describe(con, table, docs.get(table, ("", {})), kind="VIEW")
                elif table not in carried:
                    if table in by_night and not _copy_nights(con, table, by_night[table]):
                        del by_night[table]
                        con.execute(f'DROP TABLE s."{table}"')
                    if table in by_days and (copied := _copy_customer_days(con, table, by_days[table])) is not None:
                        copied_days[table] = copied
                    elif table in by_days:
                        con.execute(f'DROP TABLE s."{table}"')
                    if table in by_digest and (copied := _copy_changed_customers(con, table)) is not None:
                        copied_customers[table] = copied
                    elif table in by_digest:
                        con.execute(f'DROP TABLE s."{table}"')
                    if table not in by_night and table not in copied_days and table not in copied_customers:
                        con.execute(f'CREATE TABLE s."{table}" AS SELECT * FROM w."{table}"')
                    _describe(con, table, docs.get(table, ("", {})))
                [(rows[table],)] = con.execute(f'SELECT count(*) FROM s."{table}"').fetchall()
            con.execute("CREATE TABLE s._snapshot AS SELECT ?::DATE AS as_of_date, ? AS run_id, "
                        "?::JSON AS table_rows, ?::JSON AS table_builds, ?::VARCHAR[] AS carried_over, "
                        "?::JSON AS copied_nights, ?::JSON AS copied_customer_days, ?::JSON AS customer_days_read, "
                        "?::JSON AS copied_customers",
                        [night, run_id, json.dumps(rows),
                         json.dumps({t: builds[t] for t in rows if t in builds}), sorted(carried),
                         json.dumps({t: [str(n) for n in nights] for t, nights in sorted(by_night.items())}),
                         json.dumps(copied_days),
                         json.dumps({t: seq for t in BY_CUSTOMER_DAY if t in rows
                                     and (seq := customer_days_logged(con, "w", t)) is not None}),
                         json.dumps(copied_customers)])
            con.execute("DETACH s")
        with open(scratch, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(scratch, target)
    finally:       # a failed copy (a full disk) leaves its write-ahead log beside it
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    return rows


def _same_columns(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """The published table has the warehouse table's columns, in order (a trait added to the
    spec adds one to `customer_traits`: then the table is copied whole)."""
    def columns(database: str) -> list[tuple]:
        return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                           "AND table_name = ? ORDER BY column_index", [database, table]).fetchall()
    return columns("s") == columns("w")


def _copy_nights(con: duckdb.DuckDBPyConnection, table: str, nights: list) -> bool:
    """Bring a history table up to date from the nights built since the published file: those
    nights copied again, the nights the warehouse forgot dropped. False (copy it whole) when
    the rows per night then differ from the warehouse's: something the build log does not know
    about wrote the table."""
    built = "(SELECT unnest(?::DATE[]))"
    con.execute(f'DELETE FROM s."{table}" WHERE as_of_date IN {built} '
                f'OR as_of_date NOT IN (SELECT DISTINCT as_of_date FROM w."{table}")', [nights])
    con.execute(f'INSERT INTO s."{table}" SELECT * FROM w."{table}" WHERE as_of_date IN {built}', [nights])
    return _same_counts(con, table, "as_of_date")


def _copy_customer_days(con: duckdb.DuckDBPyConnection, table: str, days: str) -> int | None:
    """Bring a table restated by record up to date from the customer-days its builds logged
    (`days`, a query): those customer-days copied again. The number of customer-days, or None
    (copy it whole) when the rows per business day then differ from the warehouse's."""
    return _copy_again(con, table, days, "customer_id, business_date", by="business_date")


def _copy_changed_customers(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    """Bring a table restated per customer up to date: the customers whose inputs' digest differs
    between the published table and the warehouse's, or who are in only one of them, copied
    again. The number of customers, or None (copy it whole) when the rows per customer then
    differ from the warehouse's."""
    digests = f'SELECT DISTINCT customer_id, inputs_digest FROM {{}}."{table}"'
    changed = (f"({digests.format('s')} EXCEPT {digests.format('w')}) "
               f"UNION ALL ({digests.format('w')} EXCEPT {digests.format('s')})")
    return _copy_again(con, table, changed, "customer_id", by="customer_id")


def _copy_again(con: duckdb.DuckDBPyConnection, table: str, keys: str, columns: str, by: str) -> int | None:
    """Delete the snapshot's rows whose `columns` are among those `keys` (a query) selects and copy
    the warehouse's again. The number of distinct keys, or None when the rows per `by` then
    differ from the warehouse's (something the keys do not account for wrote the table)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE copied_keys AS SELECT DISTINCT {columns} FROM ({keys})")
    match = f"({columns}) IN (SELECT {columns} FROM copied_keys)"
    con.execute(f'DELETE FROM s."{table}" WHERE {match}')
    con.execute(f'INSERT INTO s."{table}" SELECT * FROM w."{table}" WHERE {match}')
    [(copied,)] = con.execute("SELECT count(*) FROM copied_keys").fetchall()
    return copied if _same_counts(con, table, by) else None


def _same_counts(con: duckdb.DuckDBPyConnection, table: str, by: str) -> bool:
    """The snapshot's table has the warehouse's number of rows for each value of `by`."""
    counts = f"SELECT {by}, count(*) FROM {{}}.\"{table}\" GROUP BY ALL"
    [(differ,)] = con.execute(f"SELECT count(*) FROM (({counts.format('s')} EXCEPT {counts.format('w')}) "
                              f"UNION ALL ({counts.format('w')} EXCEPT {counts.format('s')}))").fetchall()
    return differ == 0


def _view_builds(nodes: list[dict], builds: dict[str, str], views: set[str]) -> dict[str, str]:
    """A build id for each warehouse view: one digest of its own build id and those of every
    relation it reads, through other views; none when any of them has none. Its own id alone is
    not enough: after the build, `forget_erased` rewrites `customer_touchpoints` in place (a new
    build id) while `touchpoints` above it keeps its own."""
    reads = {n["name"]: [d.split(".")[-1] for d in n.get("depends_on", {}).get("nodes", [])] for n in nodes}

    def build(name: str) -> str | None:
        if name not in views:
            return builds.get(name)
        if not builds.get(name) or name not in reads:
            return None
        inputs = [build(d) for d in reads[name]]
        if None in inputs:
            return None
        return hashlib.sha256(" ".join([builds[name], *inputs]).encode()).hexdigest()[:32]
    return {v: b for v in views if (b := build(v))}


def _union(con: duckdb.DuckDBPyConnection, view: str, parts: tuple[str, ...]) -> None:
    """The view over its parts, with the warehouse view's columns (a part's bookkeeping, such as
    `attribution_by_path.inputs_digest`, stays out). Table names stay unqualified: DuckDB looks
    them up in the view's own file, whatever name an analyst attaches it under."""
    columns = ", ".join(f'"{c}"' for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'w' AND table_name = ? "
        "ORDER BY column_index", [view]).fetchall())
    con.execute(f'CREATE VIEW s."{view}" AS ' + " UNION ALL ".join(f'SELECT {columns} FROM "{p}"' for p in parts))


def _describe(con: duckdb.DuckDBPyConnection, table: str, doc: tuple[str, dict[str, str]], kind: str = "TABLE") -> None:
    """The dbt descriptions as comments on the snapshot's table (or view) and its columns."""
    description, columns = doc
    if description:
        con.execute(f'COMMENT ON {kind} s."{table}" IS {_quoted(description)}')
    built = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 's' AND table_name = ?",
        [table]).fetchall()}
    for column, text in columns.items():
        if text and column in built:         # a description of a dropped column is stale docs
            con.execute(f'COMMENT ON COLUMN s."{table}"."{column}" IS {_quoted(text)}')


def _published_state(path: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The build id of each table the published file holds, and the last customer-days log entry
    its tables restated by record reflect, as it recorded them; empty when there is no file to
    start from (none, unreadable, another storage version, or from before build ids)."""
    if not path.exists():
        return {}, {}
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            [(version,)] = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                                       "WHERE database_name = current_database()").fetchall()
            columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() "
                                                 "WHERE table_name = '_snapshot'").fetchall()}
            if not (version or "").startswith(STORAGE_VERSION) or "table_builds" not in columns:
                return {}, {}
            [(builds, read)] = con.execute("SELECT table_builds, " + (
                "customer_days_read" if "customer_days_read" in columns else "NULL") + " FROM _snapshot").fetchall()
    except duckdb.Error:
        return {}, {}
    return (json.loads(builds) if builds else {}), (json.loads(read) if read else {})
