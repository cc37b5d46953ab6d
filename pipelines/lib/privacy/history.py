"""Erasure inside the warehouse's history tables.

A rebuild without the person replaces every table computed from the lake, but the nightly
history tables (traits per night, audience ledgers, identity changes and assignments, holdout
keys) keep rows of earlier nights. The person's customer ids are: the one the erasure log
recorded, those their identifiers had in the previous build (identity_assignments, by the
hashes the log keeps), and every earlier id that flowed into these (identity_changes). Their
rows are deleted here, after every night's build (`forget_erased`).

Deleted rows keep their bytes in the DuckDB file's blocks, and a replaced table its old blocks,
until the file is rewritten (`storage.compact`: every live table copied, about 75 s for the 3.5 GB
warehouse of 10 M events). Nobody can query those bytes; a copy of the file still holds them. The
rewrite is owed from the first night that left such bytes (table `compaction_owed`) and done on
the first night that is `compact_within_days` (CDP_COMPACT_WITHIN_DAYS, default 7) or more later,
so that a few requests a night do not rewrite the whole warehouse every night. The published
files never hold them: the analyst snapshot is written afresh on an erasure night, and `cdp
erase` rewrites the warehouse at once.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.warehouse.storage import compact

# table -> the columns that may hold an erased customer's id
HISTORY = {
    "customer_traits": ("customer_id",),
    "lifecycle_transitions": ("customer_id",),
    "audience_membership": ("customer_id",),
    "audience_changes": ("customer_id",),
    "holdout_keys": ("customer_id",),       # not holdout_key: an inheritor keeps its group
    "identity_changes": ("customer_id", "previous_customer_id"),
    "identity_assignments": ("customer_id",),
    "customer_touchpoints": ("customer_id",),   # kept per customer: an erased one's row without a touch
}
# Bookkeeping that names customers but whose rows must stay: the erased id is overwritten. The logs
# of changed customer-days and customers (macros/customer_days.sql) number each build; deleting a
# build's rows could hand its number to the next build, which readers would then skip.
PSEUDONYMISED = {"restated_customer_days": "customer_id", "restated_customers": "customer_id"}
# Change logs that name records (macros/moved_records.sql), whose ids can be a person's (a CRM
# record is its member id): on a night with erasures their entries go (`forget_change_logs`). Log ->
# (its key columns, the marker under which its readers record in `delivery_loads` how far they read).
CHANGE_LOGS = {"moved_records": (("source", "record_id"), "moved_records")}
ERASED = "erased"
# One row while the file holds erased bytes: the first night that left them.
COMPACTION_OWED = "compaction_owed"


def forget_erased(layout: Layout, night: date, compact_within_days: int = 0) -> dict[str, int]:
    """After a night's build: erased customers leave the history tables. When a row went or someone
    was erased tonight, the file owes a rewrite (the tables the build replaced keep their old
    blocks, with the person's bytes, until then); it is rewritten once the oldest owed night is
    `compact_within_days` old (0: tonight). Returns the rows deleted (bookkeeping: overwritten) per
    table."""
    deleted = forget_history(layout.warehouse, layout.erasure_log)
    erased_tonight = erased_on(layout, night)
    if erased_tonight:
        deleted.update(forget_change_logs(layout.warehouse))
    if any(deleted.values()) or erased_tonight:
        owe_compaction(layout.warehouse, night)
    since = compaction_owed_since(layout.warehouse)
    if since is not None and (night - since).days >= compact_within_days:
        compact(layout.warehouse, leave_out=(COMPACTION_OWED,))
    return deleted


def owe_compaction(db: Path, night: date) -> None:
    """Record that the file holds erased bytes since `night` (the earliest such night is kept)."""
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS {COMPACTION_OWED} (since DATE NOT NULL)")
        con.execute(f"INSERT INTO {COMPACTION_OWED} SELECT ? WHERE NOT EXISTS (SELECT 1 FROM {COMPACTION_OWED})",
                    [night])
        con.execute(f"UPDATE {COMPACTION_OWED} SET since = least(since, ?)", [night])


def compaction_owed_since(db: Path) -> date | None:
    """The first night whose erased bytes the file still holds; None when it holds none."""
    if not db.exists():
        return None
    with duckdb.connect(str(db), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [COMPACTION_OWED]).fetchone()[0]:
            return None
        return con.execute(f"SELECT min(since) FROM {COMPACTION_OWED}").fetchone()[0]


def forget_change_logs(db: Path) -> dict[str, int]:
    """Take the records out of each change log. A model's entries that every reader has read go,
    one entry without a record (`ERASED` keys) keeping its last number, so that the readers go on
    from the next one; when a reader has not read them all (or none is known), one "everything"
    entry takes the next number instead, and the readers derive everything once (a whole `events`
    at 10 M events). Returns the entries removed per log."""
    if not db.exists():
        return {}
    removed = {}
    with duckdb.connect(str(db)) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        for log, (keys, marker) in CHANGE_LOGS.items():
            if log not in tables:
                continue
            named = f"{keys[0]} is not null and {keys[0]} <> '{ERASED}'"
            read = (f"(select min(try_cast(version as bigint)) from delivery_loads where source = '{marker}')"
                    if "delivery_loads" in tables else "null")
            con.execute(f"""
                create or replace temp table log_ends as
                select model, max(seq) as last, coalesce({read} >= max(seq), false) as all_read
                from {log} group by model having count(*) filter (where {named}) > 0""")
            removed[log] = con.execute(f"select count(*) from {log} where {named}").fetchone()[0]
            con.execute(f"delete from {log} where {keys[0]} is not null "
                        f"and model in (select model from log_ends)")
            con.execute(f"""
                insert into {log} (model, seq, {", ".join(keys)})
                select model, if(all_read, last, last + 1), {", ".join(f"if(all_read, '{ERASED}', null)" for _ in keys)}
                from log_ends""")
    return removed


def erased_on(layout: Layout, night: date) -> bool:
    """Whether the erasure log holds a request applied on this night."""
    if not layout.erasure_log.exists():
        return False
    with duckdb.connect() as con:
        return con.execute(f"SELECT count(*) FROM read_parquet('{layout.erasure_log}') "
                           f"WHERE run_date = ? AND status = 'erased'", [night]).fetchone()[0] > 0


def forget_history(db: Path, erasure_log: Path) -> dict[str, int]:
    """Delete erased customers' rows from the history tables; returns the rows deleted per table."""
    if not erasure_log.exists() or not db.exists():
        return {}
    deleted = {}
    with duckdb.connect(str(db)) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        con.execute(f"""
            create temp table erased as
            select distinct customer_id from read_parquet('{erasure_log}') where customer_id is not null
        """)
        if "identity_assignments" in tables:
            con.execute(f"""
                insert into erased
                select distinct customer_id from identity_assignments
                where id_key in (select unnest(identifier_sha256) from read_parquet('{erasure_log}'))
                except select customer_id from erased
            """)
        if "identity_changes" in tables:      # earlier ids of the same person, transitively
            con.execute("""
                insert into erased
                with recursive earlier(customer_id) as (
                    select customer_id from erased
                    union
                    select c.previous_customer_id from identity_changes c
                    join earlier e on c.customer_id = e.customer_id
                    where c.previous_customer_id is not null
                )
                select customer_id from earlier except select customer_id from erased
            """)
        for table, columns in HISTORY.items():
            if table not in tables:
                continue
            where = " or ".join(f"{c} in (select customer_id from erased)" for c in columns)
            deleted[table] = con.execute(f"delete from {table} where {where}").fetchone()[0]
        for table, column in PSEUDONYMISED.items():
            if table in tables:
                deleted[table] = con.execute(f"update {table} set {column} = '{ERASED}' "
                                             f"where {column} in (select customer_id from erased)").fetchone()[0]
        if any(deleted.values()) and "build_state" in tables:
            # a writer besides the nightly build: nothing may be kept or carried over on its word
            con.execute("delete from build_state")
    return deleted
