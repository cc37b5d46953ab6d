"""A night whose only delivery is the CRM's erasure requests: what forgetting people costs.

The generated world's requests fall on random nights (at 10 M events about two a night, some
nights none), so the bench's incremental night may or may not carry any. This night carries a
known number: the world's own average per night so far (at least one), asked by members known
since the first CRM snapshot and still in the last one, whose records span the whole history
(the costly case, and the usual one: people who ask to be forgotten have usually been customers
for a while). Picked by hash of the member id, so the same world always asks for the same people.
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout


def erased_on(world: Path, night: date) -> int:
    """Requests the night applied (the erasure log's `erased` rows of that night)."""
    log = Layout(world).erasure_log
    if not log.exists():
        return 0
    [(n,)] = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{log}') "
                                      f"WHERE run_date = ? AND status = 'erased'", [night]).fetchall()
    return int(n)


def requests_per_night(world: Path) -> int:
    """The world's erasure requests so far per night ingested, rounded; at least one."""
    layout = Layout(world)
    if not layout.erasure_log.exists():
        return 1
    [(requests, nights)] = duckdb.connect().execute(f"""
        SELECT (SELECT count(*) FROM read_parquet('{layout.erasure_log}') WHERE status = 'erased'),
               (SELECT count(DISTINCT delivery_date) FROM read_parquet('{layout.ingest_log}'))
    """).fetchall()
    return max(1, round(requests / max(1, nights)))


def deliver_requests(world: Path, night: date, members: int) -> list[str]:
    """Write `raw/crm/<night>/erasure_requests.csv` (the raw contract's columns) for `members`
    long-known members; returns their ids."""
    snapshots = Layout(world).lake_entity("crm", "members")
    chosen = [m for (m,) in duckdb.connect().execute(f"""
        WITH s AS (SELECT member_id, delivery_date
                   FROM read_parquet('{snapshots}/*/part-0.parquet', hive_partitioning = true))
        SELECT member_id FROM s GROUP BY member_id
        HAVING min(delivery_date) = (SELECT min(delivery_date) FROM s)
           AND max(delivery_date) = (SELECT max(delivery_date) FROM s)
        ORDER BY md5(member_id) LIMIT {int(members)}""").fetchall()]
    if not chosen:
        raise RuntimeError(f"{snapshots}: no member of the first CRM snapshot is in the last one")
    folder = world / "raw" / "crm" / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "erasure_requests.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["member_id", "requested_at"])
        writer.writerows([m, f"{night.isoformat()}T10:00:00+08:00"] for m in chosen)
    return chosen
