"""Taking erased people out of what was already published.

Every audience folder (every day) that lists one of the customers, and every conversion folder
holding one of their orders, is published again without their rows: the same files, filtered,
with a new manifest (the old fields, new checksums and row counts, and `redacted_at`), swapped
in like any published folder, so the old copy is gone and no reader sees a half-changed folder.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.lib.layout import Layout
from pipelines.lib.publish.folder import publish_folder, read_manifest

# folder kind -> the column that names the person in its files
KEYS = {"audiences": "customer_id", "conversions": "order_id"}


def _holds(con: duckdb.DuckDBPyConnection, folder: Path, key: str, values: list[str]) -> bool:
    for file in sorted(folder.glob("*.parquet")):
        columns = [d[0] for d in con.execute(f"SELECT * FROM '{file}' LIMIT 0").description]
        if key in columns and con.execute(f"SELECT count(*) FROM '{file}' WHERE {key} IN (SELECT unnest(?))",
                                          [values]).fetchall()[0][0]:
            return True
    return False


def redact_published(layout: Layout, customer_ids: list[str], order_ids: list[str]) -> list[str]:
    """Republishes every published folder that holds these customers or orders; returns their paths
    relative to the data directory."""
    changed = []
    root = layout.data_dir / "published"
    with duckdb.connect() as con:
        for kind, key in KEYS.items():
            values = customer_ids if key == "customer_id" else order_ids
            if not values:
                continue
            for folder in sorted((root / kind).glob("*/????-??-??")):
                manifest = read_manifest(folder)
                if manifest is None or not _holds(con, folder, key, values):
                    continue

                fields = {k: v for k, v in manifest.items() if k not in ("files", "created_at")}
                fields["redacted_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                main_file = "members.parquet" if kind == "audiences" else "conversions.parquet"

                def write(scratch: Path, folder: Path = folder, key: str = key, values: list[str] = values,
                          fields: dict = fields, main_file: str = main_file) -> dict[str, int]:
                    rows = {}
                    for entry in read_manifest(folder)["files"]:
                        source, out = folder / entry["name"], scratch / entry["name"]
                        reader = "read_parquet" if source.suffix == ".parquet" else "read_csv"
                        options = "(FORMAT parquet)" if source.suffix == ".parquet" else "(HEADER, DELIMITER ',')"
                        extra = "" if source.suffix == ".parquet" else ", header = true, all_varchar = true"
                        kept = (f"SELECT * FROM {reader}('{source}'{extra}) "
                                f"WHERE {key} IS NULL OR {key} NOT IN (SELECT unnest($values))")
                        con.execute(f"COPY ({kept}) TO '{out}' {options}", {"values": values})
                        rows[entry["name"]] = con.execute(
                            f"SELECT count(*) FROM {reader}('{out}'{extra})").fetchall()[0][0]
                    if "row_count" in fields and main_file in rows:
                        fields["row_count"] = rows[main_file]     # the manifest is written after this
                    return rows

                publish_folder(layout, folder, write, fields)
                changed.append(layout.relative(folder))
    return changed

