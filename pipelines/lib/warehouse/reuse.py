"""What a night's build may keep from the last one: models whose inputs did not change.

Most models depend on the night only through the lake slice they read (`lake()`: deliveries up to
the night). When that slice is the one the last successful build read (no delivery, re-ingestion
or erasure since) and the project is the same, those models would come out identical: the night
builds only the models that read the night's date themselves (`as_of_date`: windows, history
tables, audiences) and everything downstream of them. A night with no new data then costs what
its moving windows cost, not what the whole history costs.

The state of the last successful build is table `build_state` in the warehouse, written after the
build; every dbt invocation empties it when it starts (macro `forget_build_state`), so after
anything else wrote the warehouse (the identity build before erasures, `cdp erase`, a build run
by hand, a failed build) the next night builds everything.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.lib.layout import Layout

# Macros that read the night's date only to slice the lake (covered by the lake's state) or to
# record the night that loaded it (`delivery_loads`).
LAKE_SLICE_MACROS = {"lake", "as_of_date", "restated_from", "delivery_versions", "forget_restated_deliveries",
                     "record_loaded_deliveries", "incremental_by_delivery", "first_changed_delivery",
                     "restated_records", "record_restated_loads", "record_read_customer_days", "record_read_nodes",
                     "record_read_nodes_and_customer_days", "record_logs_read", "log_read_row"}
# Vars that change how a build runs, not what it computes.
RUN_VARS = {"data_dir", "duckdb_memory_limit", "duckdb_threads", "duckdb_temp_directory"}
_MENTIONS_NIGHT = re.compile(r"\bas_of_date\b|\bas_of\(")


@dataclass(frozen=True)
class BuildState:
    night: str
    lake: str       # what the lake held up to the night
    project: str    # the dbt project's files and the vars that change results


def current_state(layout: Layout, project_dir: Path, night: date | str, build_vars: str) -> BuildState:
    return BuildState(str(night), lake_state(layout, night), project_state(project_dir, build_vars))


def lake_state(layout: Layout, night: date | str) -> str:
    """A digest of everything written to the lake for deliveries up to the night: the ingest log's
    rows, every erasure, the marketers' uploads, and each non-empty lake file up to the night by
    its size and Parquet footer, so a file changed behind the pipeline's back (a bad copy) is
    read again and the night fails naming it, while a rerun that rewrites the same bytes still
    counts as unchanged. Footers are read once per file version (`LakeFiles`), not every night:
    the lake gains a file per entity and night, a year holds thousands."""
    digest = hashlib.sha256()
    with LakeFiles(layout) as files:
        for path in sorted(layout.lake.rglob("*.parquet")):
            relative = path.relative_to(layout.lake)
            if relative.parts[0].startswith("_") or relative.parts[0] == "marketing":
                continue
            day = next((p.split("=", 1)[1] for p in relative.parts if p.startswith("delivery_date=")), "")
            if day <= str(night):
                size, rows, footer = files.read(path, relative.as_posix())
                if rows != 0:
                    digest.update(f"{relative.as_posix()}:{size}:{footer}".encode())
    with duckdb.connect() as con:
        if layout.ingest_log.exists():
            rows = con.execute(f"""
                SELECT source, entity, delivery_date, file, file_sha256, status, rows_in_lake
                FROM read_parquet('{layout.ingest_log}') WHERE delivery_date <= CAST(? AS DATE) ORDER BY ALL
            """, [str(night)]).fetchall()
            digest.update(repr(rows).encode())
        if layout.erasure_log.exists():
            digest.update(layout.erasure_log.read_bytes())
    for path in sorted((layout.lake / "marketing").glob("*.parquet")):
        digest.update(path.relative_to(layout.lake).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class LakeFiles:
    """Each lake file's rows and footer digest, kept beside the warehouse (`lake_files.json`) by
    the file's identity: size, modification and change times, inode. Any write, copy or rename
    changes the change time, which no tool can set back, so a file is read again whenever it may
    have changed; the others cost a `stat`. Losing the file costs one night a read of every
    footer."""

    def __init__(self, layout: Layout):
        self.lake = layout.lake
        self.path = layout.warehouse.parent / "lake_files.json"
        self.known: dict[str, list] = {}
        self.seen: dict[str, list] = {}

    def __enter__(self) -> LakeFiles:
        try:
            self.known = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        return self

    def read(self, path: Path, name: str) -> tuple[int, int, str]:
        """The file's size, rows (-1: its footer cannot be read; the build reads it and fails
        naming it) and footer digest."""
        st = path.stat()
        identity = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        entry = self.known.get(name)
        if entry is None or entry[:4] != identity:
            footer = _footer(path)
            entry = [*identity, _rows(path), hashlib.sha256(footer).hexdigest()]
        self.seen[name] = entry
        return entry[0], entry[4], entry[5]

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        # files beyond the night keep their entries; files gone lose them
        entries = {**{k: v for k, v in self.known.items() if k not in self.seen and (self.lake / k).exists()},
                   **self.seen}
        if entries == self.known:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_name(f".{self.path.name}-{uuid.uuid4().hex}")
        scratch.write_text(json.dumps(entries, sort_keys=True))
        scratch.replace(self.path)


def _rows(path: Path) -> int:
    """A night without a delivery writes empty partitions: they change no model."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError):
        return -1


def _footer(path: Path) -> bytes:
    """A Parquet file's footer (its last 8 bytes give the footer's length): row groups, sizes
    and statistics, read without the data. A damaged file gives its last 8 bytes."""
    with open(path, "rb") as f:
        f.seek(-8, 2)
        tail = f.read()
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != b"PAR1" or length + 8 > path.stat().st_size:
            return tail
        f.seek(-(length + 8), 2)
        return f.read()


def project_state(project_dir: Path, build_vars: str) -> str:
    digest = hashlib.sha256()
    for name in ("dbt_project.yml", "models", "macros", "seeds", "tests", "specs"):
        path = project_dir / name
        for file in sorted([path] if path.is_file() else path.rglob("*") if path.exists() else []):
            if file.is_file():
                digest.update(file.relative_to(project_dir).as_posix().encode())
                digest.update(file.read_bytes())
    results = {k: v for k, v in json.loads(build_vars).items() if k not in RUN_VARS}
    digest.update(json.dumps(results, sort_keys=True).encode())
    return digest.hexdigest()


def last_state(layout: Layout) -> BuildState | None:
    """What the last successful build read (none after any later dbt run: `forget_build_state`)."""
    if not layout.warehouse.exists():
        return None
    try:
        with duckdb.connect(str(layout.warehouse), read_only=True) as con:
            if not con.execute("SELECT count(*) FROM information_schema.tables "
                               "WHERE table_name = 'build_state'").fetchone()[0]:
                return None
            row = con.execute("SELECT CAST(night AS VARCHAR), lake, project FROM build_state").fetchone()
    except duckdb.Error:
        # held by another process right now: build everything; the build meets the same conflict
        # and is retried (pipelines/lib/retries.py), its retry reads the state again
        return None
    return BuildState(*row) if row else None


def record_state(layout: Layout, state: BuildState, kept: list[str], follows_last: bool) -> None:
    """After a successful build (dbt's on-run-start emptied `build_state`): its state, and a new
    build id for every table and view but the `kept` ones (table `table_builds`; kept ones keep
    theirs: nothing wrote them since, or the build could not have kept them). While `build_state`
    holds a row, a table whose build id did not change holds what it held then: the analyst
    snapshot carries such tables over instead of copying them.

    `build_log` lists the builds since the last one that did not follow its predecessor
    (`follows_last`: the build started from the last build's state, so nothing else wrote the
    warehouse in between, and no erased person left a history table tonight). Along that chain
    a history table (`nightly_history`) changed only in the nights the builds were for, and in
    the nights it forgot: `nights_built_since` tells the snapshot which nights to copy again."""
    build = uuid.uuid4().hex
    with duckdb.connect(str(layout.warehouse)) as con:
        con.execute("BEGIN")
        con.execute("DELETE FROM build_state")
        con.execute("INSERT INTO build_state VALUES (CAST(? AS DATE), ?, ?)", [state.night, state.lake, state.project])
        con.execute("CREATE TABLE IF NOT EXISTS table_builds (table_name VARCHAR, build VARCHAR)")
        con.execute("DELETE FROM table_builds WHERE NOT list_contains(?::VARCHAR[], table_name)", [kept])
        con.execute("""INSERT INTO table_builds
                       SELECT table_name, ? FROM information_schema.tables
                       WHERE table_schema = 'main' AND table_name NOT IN (SELECT table_name FROM table_builds)""",
                    [build])
        con.execute("CREATE TABLE IF NOT EXISTS build_log (seq BIGINT, build VARCHAR, night DATE)")
        if not follows_last:
            con.execute("DELETE FROM build_log")
        con.execute("INSERT INTO build_log SELECT coalesce(max(seq), 0) + 1, ?, CAST(? AS DATE) FROM build_log",
                    [build, state.night])
        con.execute("COMMIT")


def table_builds(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, str]:
    """The build id of each table of an attached warehouse, empty when anything but a nightly
    build may have written it since (no `build_state` row: any dbt run or erasure empties it)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                        [database]).fetchall()}
    if not {"build_state", "table_builds"} <= tables:
        return {}
    if not con.execute(f'SELECT count(*) FROM "{database}".build_state').fetchone()[0]:
        return {}
    return dict(con.execute(f'SELECT table_name, build FROM "{database}".table_builds').fetchall())


def nights_built_since(con: duckdb.DuckDBPyConnection, database: str, build: str) -> list[date] | None:
    """The nights the builds after `build` were for, when `build` is in the attached warehouse's
    current chain (`record_state`); None when it is not (anything may have changed since)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'build_log'",
                       [database]).fetchone()[0]:
        return None
    found = con.execute(f'SELECT seq FROM "{database}".build_log WHERE build = ?', [build]).fetchall()
    if not found:
        return None
    return [night for (night,) in con.execute(f'SELECT DISTINCT night FROM "{database}".build_log '
                                              f'WHERE seq > ? ORDER BY night', [found[0][0]]).fetchall()]


# Change logs of the keys each build changed (dbt_project/macros/change_logs.sql), which the
# analyst snapshot reads: log -> its keys.
CUSTOMER_DAYS_LOG = "restated_customer_days"    # `events` (macros/customer_days.sql)
CUSTOMERS_LOG = "restated_customers"            # the tables restated per customer (same file)
LOG_KEYS = {CUSTOMER_DAYS_LOG: ("customer_id", "business_date"), CUSTOMERS_LOG: ("customer_id",)}


def last_logged(con: duckdb.DuckDBPyConnection, database: str, log: str, model: str) -> int | None:
    """The last sequence number `model`'s builds wrote in the attached warehouse's `log`; None
    when the warehouse keeps no such log (Spark, or a file from before it)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
                       [database, log]).fetchone()[0]:
        return None
    return con.execute(f'SELECT coalesce(max(seq), 0) FROM "{database}".{log} WHERE model = ?', [model]).fetchone()[0]


def logged_since(con: duckdb.DuckDBPyConnection, database: str, log: str, model: str, seq: int) -> str | None:
    """A query for the keys `model`'s builds after sequence `seq` changed, read as the dbt readers
    read a log (macro `logged_since`); None when the log cannot say: a build since rewrote the
    whole table, entries after `seq` were pruned, or the log restarted."""
    last = last_logged(con, database, log, model)
    if last is None:
        return None
    keys = LOG_KEYS[log]
    table = f'"{database}".{log}'
    everything, first = con.execute(
        f"SELECT count(*) FILTER (WHERE {keys[0]} IS NULL), coalesce(min(seq), 0) FROM {table} "
        f"WHERE model = ? AND seq > ?", [model, seq]).fetchone()
    if everything or (first and first > seq + 1) or last < seq:
        return None
    return f"SELECT {', '.join(keys)} FROM {table} WHERE model = '{model}' AND seq > {int(seq)}"


def night_independent_models(manifest: dict) -> list[str]:
    """Models (and the seeds they read) that depend on the night only through the lake slice:
    neither they nor anything upstream of them reads the night's date. Names, each after the
    nodes it reads."""
    nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] in ("model", "seed", "snapshot")}
    macros = manifest["macros"]

    def reads_night(node: dict) -> bool:
        if _MENTIONS_NIGHT.search(node.get("raw_code", "")):
            return True
        return any(m.split(".")[-1] not in LAKE_SLICE_MACROS and _MENTIONS_NIGHT.search(macros[m]["macro_sql"])
                   for m in node["depends_on"].get("macros", []) if m in macros)

    children: dict[str, set[str]] = {}
    for key, node in nodes.items():
        for parent in node["depends_on"].get("nodes", []):
            children.setdefault(parent, set()).add(key)
    dependent, todo = set(), [k for k, v in nodes.items() if reads_night(v)]
    while todo:
        key = todo.pop()
        if key not in dependent:
            dependent.add(key)
            todo += children.get(key, ())
    kept = {k for k, v in nodes.items() if v["resource_type"] in ("model", "seed") and k not in dependent}
    return [nodes[k]["name"] for k in _upstream_first(kept, nodes)]


def _upstream_first(keys: set[str], nodes: dict) -> list[str]:
    """These nodes, each after its parents (ties by name): Dagster takes a multi-asset's
    results in that order."""
    done: list[str] = []
    def visit(key: str) -> None:
        if key in done or key not in keys:
            return
        for parent in sorted(nodes[key]["depends_on"].get("nodes", [])):
            visit(parent)
        done.append(key)
    for key in sorted(keys, key=lambda k: nodes[k]["name"]):
        visit(key)
    return done


def reusable_models(manifest: dict, state: BuildState, last: BuildState | None) -> tuple[list[str], str | None]:
    """The models tonight's build may keep, and the night they were built for: none unless the
    last successful build (`last_state`) read the same lake slice with the same project."""
    if last is None or (last.lake, last.project) != (state.lake, state.project):
        return [], None
    return night_independent_models(manifest), last.night
