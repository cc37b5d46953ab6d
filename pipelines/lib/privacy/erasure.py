"""Apply the CRM's erasure requests to the lake and quarantine: every file holding a record of the
person is rewritten without it (deleting rows in place would leave their bytes on disk).

Who the person is comes from tonight's identity resolution (the member's customer and all its
linked identifiers) and from the member's rows in every CRM snapshot. A record is theirs when one of its identifying columns (`Field.identifies`
in the source specs) holds one of those identifiers; hub and blocked identifiers are never used
(a shop's tablet is not one person's). Quarantined rows are matched on their raw text.

Each request is logged once in `lake/_erasure_log.parquet`: when, which customer, the member id
only as sha256, the sha256 of each erased `type:value` (so a night re-ingested later is erased
again: ingestion applies earlier erasures to each delivery it writes, logged as `reapplied`), how many rows
of which raw files were removed and which files were rewritten; the request's own lake row then
keeps only that hash too. A request for a member nobody
knows is logged as `unknown_member` and changes nothing. The landing zone is not the pipeline's
to change (raw_exports.md): its retention is the channels' and the landing zone's policy.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.ingest.sources import SOURCES
from pipelines.lib.layout import Layout

LOG_SCHEMA = pa.schema([
    ("run_date", pa.date32()), ("member_id_sha256", pa.string()), ("customer_id", pa.string()),
    ("requested_at", pa.timestamp("us")), ("status", pa.string()), ("identifiers", pa.int64()),
    # sha256("type:value") of each erased identifier: how later reruns are erased again
    ("identifier_sha256", pa.list_(pa.string())),
    ("rows_removed", pa.int64()), ("files_rewritten", pa.list_(pa.string())),
    # rows removed per raw source file, for reconciliation: read = lake + quarantined + dedup + erased
    ("removed_by_file", pa.list_(pa.struct([("store", pa.string()), ("source_file", pa.string()),
                                             ("rows", pa.int64())]))),
])


@dataclass
class ErasureReport:
    requests: int = 0
    erased: int = 0
    unknown_members: int = 0
    rows_removed: int = 0
    files_rewritten: list[str] = field(default_factory=list)


def _pending(con: duckdb.DuckDBPyConnection, layout: Layout, run_date: date) -> list[tuple[str, object, bool]]:
    """Requests up to `run_date` not erased yet, and whether each was already logged as unknown
    (an unknown member is looked for again every night: their data may arrive later)."""
    requests = layout.lake_entity("crm", "erasure_requests")
    if not any(requests.glob("*/part-0.parquet")):
        return []
    log = layout.erasure_log
    logged = (f"SELECT member_id_sha256 AS h, status FROM read_parquet('{log}')" if log.exists()
              else "SELECT NULL AS h, NULL AS status WHERE false")
    return con.execute(f"""
        WITH logged AS ({logged}),
        requests AS (
            SELECT member_id, min(requested_at) AS requested_at
            FROM read_parquet('{requests}/*/part-0.parquet', hive_partitioning = true)
            WHERE delivery_date <= ? GROUP BY member_id)
        SELECT member_id, requested_at, sha256(member_id) IN (SELECT h FROM logged WHERE status = 'unknown_member')
        FROM requests
        WHERE sha256(member_id) NOT IN (SELECT h FROM logged WHERE status = 'erased')
          AND member_id NOT IN (SELECT h FROM logged)  -- already replaced by its hash
        ORDER BY member_id
    """, [run_date]).fetchall()


def _identifiers(con: duckdb.DuckDBPyConnection, layout: Layout, member_id: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The member's customer and every identifier to erase, in the lake's own form (openids
    without appid): the customer's linked identifiers, plus the member id, phones and emails of
    the member's rows in every CRM snapshot (a member known only to the CRM has left tonight's
    snapshot, so no customer holds them any more)."""
    customer_id, found = None, set()
    if layout.warehouse.exists():
        con.execute(f"ATTACH IF NOT EXISTS '{layout.warehouse}' AS wh (READ_ONLY)")
        rows = con.execute("""
            SELECT r.customer_id, r.id_type,
                CASE WHEN r.id_type = 'openid' THEN split_part(r.id_value, ':', 2) ELSE r.id_value END
            FROM wh.identity_resolution r
            WHERE r.customer_id = (SELECT customer_id FROM wh.identity_resolution
                                   WHERE id_type = 'member_id' AND id_value = ?)
        """, [member_id]).fetchall()
        customer_id = rows[0][0] if rows else None
        found |= {(t, v) for _, t, v in rows}
    snapshots = layout.lake_entity("crm", "members")
    if any(snapshots.glob("*/part-0.parquet")):
        found |= set(con.execute(f"""
            SELECT DISTINCT unnest(['member_id', 'phone', 'email']), unnest([member_id, phone, email])
            FROM read_parquet('{snapshots}/*/part-0.parquet') WHERE member_id = ?
        """, [member_id]).fetchall())
    return customer_id, sorted((t, v) for t, v in found if v is not None)


def _rewrite(con: duckdb.DuckDBPyConnection, path: Path, keep: str) -> dict[str, int]:
    """Rewrite `path` keeping the rows where `keep` holds; returns rows removed per source file.
    The file's own columns only: its folder name (`delivery_date=...`) must not become one."""
    read = f"read_parquet('{path}', hive_partitioning = false)"
    removed = dict(con.execute(f"SELECT _source_file, count(*) FROM {read} WHERE NOT ({keep}) GROUP BY 1").fetchall())
    staged = path.with_name(path.name + ".erasing")
    con.execute(f"COPY (SELECT * FROM {read} WHERE {keep}) TO '{staged}' "
                f"(FORMAT parquet, COMPRESSION zstd)")
    os.replace(staged, path)
    return removed


@dataclass
class _Removal:
    """What one pass removed: rows per (store, raw source file), and the files rewritten."""
    by_file: dict[tuple[str, str], int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.by_file.values())

    def add(self, store: str, path: str, removed: dict[str, int]) -> None:
        self.files.append(path)
        for source_file, rows in removed.items():
            self.by_file[(store, source_file)] = self.by_file.get((store, source_file), 0) + rows


def _matches_erased_keys(entity) -> str | None:
    """SQL true for a row whose identifying columns hash into table `erased_keys` (None: the
    entity identifies nobody)."""
    columns = [(f.column, f.identifies) for f in entity.fields if f.identifies]
    return " OR ".join(f"sha256('{t}:' || \"{c}\") IN (SELECT key FROM erased_keys)" for c, t in columns) or None


def _erase_lake(con: duckdb.DuckDBPyConnection, layout: Layout, out: _Removal) -> None:
    """Lake rows whose identifying columns hash (sha256 of `type:value`) into table `erased_keys`."""
    for source in SOURCES.values():
        for entity in source.entities:
            paths = sorted(layout.lake_entity(source.name, entity.name).glob("*/part-0.parquet"))
            match = _matches_erased_keys(entity)
            if not match or not paths:
                continue
            hits = con.execute(f"SELECT DISTINCT filename FROM read_parquet(?, filename = true) WHERE {match}",
                               [[str(p) for p in paths]]).fetchall()
            for (name,) in sorted(hits):
                out.add("lake", layout.relative(Path(name)), _rewrite(con, Path(name), f"NOT coalesce({match}, false)"))


def _erase_quarantine(con: duckdb.DuckDBPyConnection, layout: Layout, out: _Removal) -> None:
    """Quarantined rows hold raw text: match the clear values of table `erased_values`
    case-insensitively, phones by their digits."""
    paths = sorted((layout.data_dir / "quarantine").glob("*/*/rows.parquet"))
    if not paths:
        return
    match = ("EXISTS (SELECT 1 FROM erased_values WHERE contains(lower(raw), lower(value)) OR "
             "(id_type = 'phone' AND contains(regexp_replace(raw, '[^0-9]', '', 'g'), right(value, 11))))")
    hits = con.execute(f"SELECT DISTINCT filename FROM read_parquet(?, filename = true, union_by_name = true) "
                       f"WHERE raw IS NOT NULL AND {match}", [[str(p) for p in paths]]).fetchall()
    for (name,) in sorted(hits):
        out.add("quarantine", layout.relative(Path(name)), _rewrite(con, Path(name), f"raw IS NULL OR NOT ({match})"))


def _keys(identifiers: list[tuple[str, str]]) -> list[str]:
    return sorted(hashlib.sha256(f"{t}:{v}".encode()).hexdigest() for t, v in identifiers)


def erase_requested(layout: Layout, run_date: date) -> ErasureReport:
    """Apply every erasure request delivered up to `run_date` and not applied yet (earlier ones
    are applied again by ingestion to each delivery it writes: `erase_again`)."""
    with duckdb.connect() as con:
        pending = _pending(con, layout, run_date)
    return erase_members(layout, run_date, pending)


def erase_members(layout: Layout, run_date: date, requests: list[tuple[str, object, bool]]) -> ErasureReport:
    """Apply these requests ((member_id, requested_at, already logged as unknown)) to the lake and
    quarantine and log them. `cdp erase` comes in here too. Earlier requests need no second pass
    over the lake: ingestion applies them to each delivery it writes (`erase_again`)."""
    report = ErasureReport()
    log_rows = []
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for member_id, requested_at, logged_unknown in requests:
            customer_id, identifiers = _identifiers(con, layout, member_id)
            if not identifiers:
                if not logged_unknown:
                    report.requests += 1
                    report.unknown_members += 1
                    log_rows.append((member_id, None, requested_at, "unknown_member", [], _Removal()))
                continue
            report.requests += 1
            con.execute("CREATE OR REPLACE TEMP TABLE erased_values (id_type VARCHAR, value VARCHAR)")
            con.executemany("INSERT INTO erased_values VALUES (?, ?)", identifiers)
            con.execute("CREATE OR REPLACE TEMP TABLE erased_keys AS "
                        "SELECT sha256(id_type || ':' || value) AS key FROM erased_values")
            removal = _Removal()
            _erase_lake(con, layout, removal)
            _erase_quarantine(con, layout, removal)
            report.erased += 1
            report.rows_removed += removal.rows
            report.files_rewritten += removal.files
            log_rows.append((member_id, customer_id, requested_at, "erased", _keys(identifiers), removal))
        if log_rows:
            _append_log(layout, run_date, log_rows)
            _hash_applied_requests(con, layout)
    return report


def erase_again(layout: Layout, source: str, day: date, staged: dict[str, Path]) -> int:
    """Earlier erasures applied to a delivery's lake files while they are still staged (entity ->
    file), before they are renamed into the lake: a rerun or re-delivered night brings back raw
    rows of people already erased (matched by identifier hash: their clear values are gone), and
    no reader ever sees them. Logged as `reapplied` under the lake paths; requests the CRM
    delivers again keep only their hash. Returns the rows removed."""
    log = layout.erasure_log
    if not log.exists():
        return 0
    removal = _Removal()
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE OR REPLACE TEMP TABLE erased_keys AS SELECT unnest(identifier_sha256) AS key "
                    f"FROM read_parquet('{log}') WHERE status = 'erased'")
        for entity in SOURCES[source].entities:
            path, match = staged.get(entity.name), _matches_erased_keys(entity)
            if path is None or match is None:
                continue
            hits = con.execute(f"SELECT count(*) FROM read_parquet('{path}', hive_partitioning = false) "
                               f"WHERE {match}").fetchone()[0]
            if hits:
                lake_file = layout.lake_partition(source, entity.name, day) / "part-0.parquet"
                removal.add("lake", layout.relative(lake_file), _rewrite(con, path, f"NOT coalesce({match}, false)"))
        if source == "crm" and "erasure_requests" in staged:
            _hash_applied_requests(con, layout, [staged["erasure_requests"]])
    if removal.rows:
        _append_log(layout, day, [(None, None, None, "reapplied", [], removal)])
    return removal.rows


def _hash_applied_requests(con: duckdb.DuckDBPyConnection, layout: Layout, paths: list[Path] | None = None) -> None:
    """Applied requests keep only sha256(member_id) in the lake (every request file, or these):
    the request stays on record, the id does not."""
    done = f"SELECT member_id_sha256 FROM read_parquet('{layout.erasure_log}') WHERE status = 'erased'"
    for path in paths or sorted(layout.lake_entity("crm", "erasure_requests").glob("*/part-0.parquet")):
        read = f"read_parquet('{path}', hive_partitioning = false)"
        [[clear]] = con.execute(f"SELECT count(*) FROM {read} WHERE sha256(member_id) IN ({done})").fetchall()
        if clear:
            staged = path.with_name(path.name + ".erasing")
            con.execute(f"COPY (SELECT * REPLACE (CASE WHEN sha256(member_id) IN ({done}) THEN sha256(member_id) "
                        f"ELSE member_id END AS member_id) FROM {read}) TO '{staged}' "
                        f"(FORMAT parquet, COMPRESSION zstd)")
            os.replace(staged, path)


def _append_log(layout: Layout, run_date: date, rows: list[tuple]) -> None:
    table = pa.Table.from_pylist([
        {"run_date": run_date, "member_id_sha256": hashlib.sha256(m.encode()).hexdigest() if m else None,
         "customer_id": c, "requested_at": r, "status": s, "identifiers": len(keys), "identifier_sha256": keys,
         "rows_removed": removal.rows, "files_rewritten": removal.files,
         "removed_by_file": [{"store": st, "source_file": f, "rows": n} for (st, f), n in sorted(removal.by_file.items())]}
        for m, c, r, s, keys, removal in rows], schema=LOG_SCHEMA)
    path = layout.erasure_log
    path.parent.mkdir(parents=True, exist_ok=True)
    # ingestion steps of several sources may append at once (erase_again)
    with open(path.with_name(".erasure_log.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            table = pa.concat_tables([pq.read_table(path, schema=LOG_SCHEMA), table])
        staged = path.with_name(path.name + f".writing{os.getpid()}")
        pq.write_table(table, staged)
        os.replace(staged, path)
