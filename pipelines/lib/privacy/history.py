"""Erasure inside the warehouse's history tables.

A rebuild without the person replaces every table computed from the lake, but the nightly
history tables (traits per night, audience ledgers, identity changes and assignments, holdout
keys) keep rows of earlier nights. The person's customer ids are: the one the erasure log
recorded, those their identifiers had in the previous build (identity_assignments, by the
hashes the log keeps), and every earlier id that flowed into these (identity_changes). Their
rows are deleted here; the caller then rewrites the file (`storage.compact`) so the bytes go.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

# table -> the columns that may hold an erased customer's id
HISTORY = {
    "customer_traits": ("customer_id",),
    "lifecycle_transitions": ("customer_id",),
    "audience_membership": ("customer_id",),
    "audience_changes": ("customer_id",),
    "holdout_keys": ("customer_id",),       # not holdout_key: an inheritor keeps its group
    "identity_changes": ("customer_id", "previous_customer_id"),
    "identity_assignments": ("customer_id",),
}


def forget_history(db: Path, erasure_log: Path) -> int:
    """Delete erased customers' rows from the history tables; returns the rows deleted."""
    if not erasure_log.exists() or not db.exists():
        return 0
    deleted = 0
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
            deleted += con.execute(f"delete from {table} where {where}").fetchone()[0]
    return deleted
