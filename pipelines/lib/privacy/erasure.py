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
from concurrent.futures import ThreadPoolExecutor
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
          -- already replaced by its hash (`reapplied` rows have none: a NULL in NOT IN would hide
          -- every request)
          AND member_id NOT IN (SELECT h FROM logged WHERE h IS NOT NULL)
        ORDER BY member_id
    """, [run_date]).fetchall()


def _load_identifiers(con: duckdb.DuckDBPyConnection, layout: Layout, member_ids: list[str]) -> dict[str, str | None]:
    """Fill temp table `erased_values(request, id_type, value)`: every identifier to erase for each
    requested member id, in the lake's own form (openids without appid): the member's customer's
    linked identifiers, plus the member id, phones and emails of the member's rows in every CRM
    snapshot (a member known only to the CRM has left tonight's snapshot, so no customer holds them
    any more). One query for every request of the night. Returns each member's customer."""
    con.execute("CREATE OR REPLACE TEMP TABLE requested AS SELECT unnest(?::VARCHAR[]) AS request", [member_ids])
    con.execute("CREATE OR REPLACE TEMP TABLE erased_values (request VARCHAR, id_type VARCHAR, value VARCHAR)")
    customers: dict[str, str | None] = {}
    if layout.warehouse.exists():
        con.execute(f"ATTACH IF NOT EXISTS '{layout.warehouse}' AS wh (READ_ONLY)")
        customers = dict(con.execute("""
            SELECT q.request, min(m.customer_id) FROM requested q
            JOIN wh.identity_resolution m ON m.id_type = 'member_id' AND m.id_value = q.request
            GROUP BY 1""").fetchall())
        con.execute("""
            INSERT INTO erased_values
            SELECT q.request, r.id_type,
                CASE WHEN r.id_type = 'openid' THEN split_part(r.id_value, ':', 2) ELSE r.id_value END
            FROM requested q
            JOIN wh.identity_resolution m ON m.id_type = 'member_id' AND m.id_value = q.request
            JOIN wh.identity_resolution r ON r.customer_id = m.customer_id""")
    snapshots = layout.lake_entity("crm", "members")
    if any(snapshots.glob("*/part-0.parquet")):
        con.execute(f"""
            INSERT INTO erased_values
            SELECT member_id, unnest(['member_id', 'phone', 'email']), unnest([member_id, phone, email])
            FROM read_parquet('{snapshots}/*/part-0.parquet')
            WHERE member_id IN (SELECT request FROM requested)""")
    con.execute("CREATE OR REPLACE TEMP TABLE erased_values AS "
                "SELECT DISTINCT * FROM erased_values WHERE value IS NOT NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE erased_keys AS "
                "SELECT DISTINCT request, sha256(id_type || ':' || value) AS key FROM erased_values")
    return customers


def _read(paths: list[Path], **options: str) -> str:
    """read_parquet of these files with their row numbers. The files' own columns only: a
    folder name (`delivery_date=...`) must not become one."""
    listed = ", ".join(f"'{p}'" for p in paths)
    extra = "".join(f", {k} = {v}" for k, v in options.items())
    return f"read_parquet([{listed}], file_row_number = true, hive_partitioning = false{extra})"


def _row_keys(entity) -> str | None:
    """SQL list of sha256('type:value') of a row's identifying columns (None: the entity
    identifies nobody)."""
    keys = [f"sha256('{f.identifies}:' || \"{f.column}\")" for f in entity.fields if f.identifies]
    return f"[{', '.join(keys)}]" if keys else None


def _row_values(entity) -> str | None:
    """SQL list of (id_type, value) of a row's identifying columns (None: the entity identifies
    nobody): matched with the night's clear values, without a hash per row and column (every
    entity of the 10 M world scanned in 4.2 s so, in 14.2 s by hash)."""
    pairs = [f"{{'id_type': '{f.identifies}', 'value': \"{f.column}\"::VARCHAR}}" for f in entity.fields if f.identifies]
    return f"[{', '.join(pairs)}]" if pairs else None


def _start(con: duckdb.DuckDBPyConnection) -> None:
    """Table `erased_rows`: every row to remove, by file and row number, and the request it
    answers (the first, when a row holds identifiers of two requests: counted once)."""
    con.execute("SET enable_progress_bar = false")
    # not TEMP: the rewrite's workers (`_remove_found`) read it through their own cursors
    con.execute("CREATE OR REPLACE TABLE erased_rows (store VARCHAR, filename VARCHAR, "
                "row_number BIGINT, source_file VARCHAR, request VARCHAR)")


def _find_in_lake(con: duckdb.DuckDBPyConnection, entity, paths: list[Path], by_value: bool = False) -> None:
    """Rows of these files of `entity` whose identifying columns hash (sha256 of `type:value`)
    into table `erased_keys`, or with `by_value` hold a value of table `erased_values` (the
    night's requests, whose clear values are known): one scan for every request at once."""
    found = _row_values(entity) if by_value else _row_keys(entity)
    if found is None or not paths:
        return
    match = ("JOIN erased_values e ON e.id_type = r.found.id_type AND e.value = r.found.value" if by_value
             else "JOIN erased_keys e ON e.key = r.found")
    con.execute(f"""
        INSERT INTO erased_rows
        SELECT 'lake', r.filename, r.file_row_number, any_value(r._source_file), min(e.request)
        FROM (SELECT filename, file_row_number, _source_file, unnest({found}) AS found
              FROM {_read(paths, filename="true")}) r
        {match}
        GROUP BY r.filename, r.file_row_number""")
    _find_other_deliveries(con, entity, paths)


def _find_other_deliveries(con: duckdb.DuckDBPyConnection, entity, paths: list[Path]) -> None:
    """Every other delivery of a record found (rows of these files with its natural key, the
    entity's dedupe key): a record delivered again is the same record, even where the copy no
    longer names the person (a corrected export). It also keeps the warehouse's first-delivery
    rule exact when a night deletes only the erased records (dbt_project/macros/lake.sql)."""
    listed = ", ".join(f"'{p}'" for p in paths)
    if not con.execute(f"SELECT count(*) FROM erased_rows WHERE store = 'lake' AND filename IN ({listed})").fetchone()[0]:
        return
    read = _read(paths, filename="true")
    keys = list(entity.natural_key)
    same = " AND ".join(f'f."{k}" IS NOT DISTINCT FROM found."{k}"' for k in keys)
    quoted = ", ".join(f'r."{k}"' for k in keys)
    con.execute(f"""
        INSERT INTO erased_rows
        WITH found AS (
            SELECT DISTINCT {quoted}, e.request
            FROM {read} r JOIN erased_rows e ON e.store = 'lake' AND e.filename = r.filename
                                            AND e.row_number = r.file_row_number)
        SELECT 'lake', f.filename, f.file_row_number, any_value(f._source_file), min(found.request)
        FROM {read} f JOIN found ON {same}
        WHERE NOT EXISTS (SELECT 1 FROM erased_rows e WHERE e.store = 'lake' AND e.filename = f.filename
                          AND e.row_number = f.file_row_number)
        GROUP BY f.filename, f.file_row_number""")


def _find_in_quarantine(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """Quarantined rows hold raw text: match the clear values of table `erased_values`
    case-insensitively, phones by their digits (each row's text prepared once, not per value)."""
    paths = sorted((layout.data_dir / "quarantine").glob("*/*/rows.parquet"))
    if not paths:
        return
    con.execute(f"""
        INSERT INTO erased_rows
        WITH quarantined AS (
            SELECT filename, file_row_number, _source_file, lower(raw) AS text,
                   regexp_replace(raw, '[^0-9]', '', 'g') AS digits
            FROM {_read(paths, filename="true", union_by_name="true")} WHERE raw IS NOT NULL),
        wanted AS (
            SELECT request, lower(value) AS text, CASE WHEN id_type = 'phone' THEN right(value, 11) END AS digits
            FROM erased_values)
        SELECT 'quarantine', q.filename, q.file_row_number, any_value(q._source_file), min(w.request)
        FROM quarantined q JOIN wanted w ON contains(q.text, w.text) OR contains(q.digits, w.digits)
        GROUP BY q.filename, q.file_row_number""")


@dataclass
class _Removal:
    """What one request removed: rows per (store, raw source file), and the files rewritten."""
    by_file: dict[tuple[str, str], int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.by_file.values())


def _remove_found(con: duckdb.DuckDBPyConnection, layout: Layout,
                  recorded_as: dict[str, Path] | None = None) -> dict[str | None, _Removal]:
    """Rewrite each file holding rows of `erased_rows` without them (staged, then renamed over
    it); returns what each request removed. `recorded_as`: the path to log for a file (a staged
    file's place in the lake)."""
    removals: dict[str | None, _Removal] = {}
    counts = con.execute("SELECT store, filename, request, source_file, count(*) FROM erased_rows "
                         "GROUP BY ALL ORDER BY store, filename, request NULLS FIRST, source_file").fetchall()
    for store, filename, request, source_file, rows in counts:
        removal = removals.setdefault(request, _Removal())
        logged = layout.relative((recorded_as or {}).get(filename, Path(filename)))
        if logged not in removal.files:
            removal.files.append(logged)
        removal.by_file[(store, source_file)] = removal.by_file.get((store, source_file), 0) + rows
    filenames = [f for (f,) in con.execute("SELECT DISTINCT filename FROM erased_rows ORDER BY 1").fetchall()]
    [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    workers = max(1, min(int(threads), len(filenames)))

    def rewrite(part: list[str]) -> None:
        with con.cursor() as cursor:
            for filename in part:
                path = Path(filename)
                staged = path.with_name(path.name + ".erasing")
                cursor.execute(f"""
                    COPY (SELECT * EXCLUDE (file_row_number) FROM {_read([path])}
                          WHERE file_row_number NOT IN (SELECT row_number FROM erased_rows
                                                        WHERE filename = '{filename}'))
                    TO '{staged}' (FORMAT parquet, COMPRESSION zstd)""")
                os.replace(staged, path)

    # One file's COPY keeps about one core busy (a partition is one row group): a long-known
    # member's request rewrites every CRM snapshot they are in, so the files go to one worker
    # per DuckDB thread (102 snapshot files of the 10 M world: 6.9 s one by one, 3.7 s on two).
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(rewrite, filenames[k::workers]) for k in range(workers)]:
            done.result()
    return removals


def named_in_lake(layout: Layout, member_ids: list[str]) -> set[str]:
    """The member ids among these that some lake record names (a field identifying a member id,
    in the form identity reads it): only their requests need tonight's identity built first. A
    member id no record names is unknown without it, however many nights it stays pending (the
    erasure requests themselves identify nobody)."""
    if not member_ids:
        return set()
    reads = [f'SELECT "{f.column}"::VARCHAR AS member_id FROM {_read(files)}'
             for source in SOURCES.values() for entity in source.entities
             if (files := sorted(layout.lake_entity(source.name, entity.name).glob("*/part-0.parquet")))
             for f in entity.fields if f.identifies == "member_id"]
    if not reads:
        return set()
    with duckdb.connect() as con:
        return {m for (m,) in con.execute(f"""
            SELECT DISTINCT member_id FROM ({" UNION ALL ".join(reads)})
            WHERE member_id IN (SELECT unnest(?::VARCHAR[]))""", [member_ids]).fetchall()}


def pending_requests(layout: Layout, run_date: date) -> list[tuple[str, object, bool]]:
    """Every erasure request delivered up to `run_date` and not applied yet (earlier ones are
    applied again by ingestion to each delivery it writes: `erase_again`)."""
    with duckdb.connect() as con:
        return _pending(con, layout, run_date)


def erase_requested(layout: Layout, run_date: date) -> ErasureReport:
    """Apply the pending requests (`pending_requests`)."""
    return erase_members(layout, run_date, pending_requests(layout, run_date))


def erase_members(layout: Layout, run_date: date, requests: list[tuple[str, object, bool]]) -> ErasureReport:
    """Apply these requests ((member_id, requested_at, already logged as unknown)) to the lake and
    quarantine and log them, all in one pass over each: a night with a thousand requests reads
    the lake once, not a thousand times. `cdp erase` comes in here too. Earlier requests need no
    second pass over the lake: ingestion applies them to each delivery it writes (`erase_again`)."""
    report = ErasureReport()
    if not requests:
        return report
    with duckdb.connect() as con:
        customers = _load_identifiers(con, layout, [member_id for member_id, _, _ in requests])
        keys = dict(con.execute("SELECT request, list(key ORDER BY key) FROM erased_keys GROUP BY 1").fetchall())
        _start(con)
        if keys:
            for source in SOURCES.values():
                for entity in source.entities:
                    _find_in_lake(con, entity, sorted(layout.lake_entity(source.name, entity.name).glob("*/part-0.parquet")),
                                  by_value=True)
            _find_in_quarantine(con, layout)
        removals = _remove_found(con, layout)
        log_rows = []
        for member_id, requested_at, logged_unknown in requests:
            if member_id not in keys:
                if not logged_unknown:
                    report.requests += 1
                    report.unknown_members += 1
                    log_rows.append((member_id, None, requested_at, "unknown_member", [], _Removal()))
                continue
            removal = removals.get(member_id, _Removal())
            report.requests += 1
            report.erased += 1
            report.rows_removed += removal.rows
            log_rows.append((member_id, customers.get(member_id), requested_at, "erased", keys[member_id], removal))
        report.files_rewritten = sorted({f for removal in removals.values() for f in removal.files})
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
    if not log.exists() or not staged:
        return 0
    with duckdb.connect() as con:
        _start(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE erased_keys AS SELECT DISTINCT NULL::VARCHAR AS request, "
                    f"unnest(identifier_sha256) AS key FROM read_parquet('{log}') WHERE status = 'erased'")
        lake_files = {}
        for entity in SOURCES[source].entities:
            if entity.name in staged:
                _find_in_lake(con, entity, [staged[entity.name]])
                lake_files[str(staged[entity.name])] = layout.lake_file(source, entity.name, day)
        removal = _remove_found(con, layout, recorded_as=lake_files).get(None, _Removal())
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
