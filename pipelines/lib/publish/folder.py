"""A published folder appears whole or not at all.

Files are written into a scratch folder on the same file system (`<data_dir>/.staging/`), their
SHA-256s and sizes go into `_manifest.json`, written last, and the folder is renamed into place.
A reader that sees a manifest can trust every file it lists; a crash leaves at most a scratch
folder that the next publish of the same folder replaces.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.lib.layout import Layout, replace_dir

MANIFEST = "_manifest.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_folder(layout: Layout, target: Path, write: Callable[[Path], dict[str, int]],
                   manifest: dict[str, Any]) -> dict[str, Any]:
    """Calls `write(folder)`, which writes the files and returns {file name: rows}; then writes
    the manifest (the given fields, plus each file's rows, bytes and SHA-256, and created_at)
    and swaps the folder into `target`. Returns the manifest."""
    scratch = layout.staging / "publish" / f"{target.parent.name}-{target.name}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        rows = write(scratch)
        files = [{"name": name, "rows": count, "bytes": (scratch / name).stat().st_size,
                  "sha256": sha256_of(scratch / name)} for name, count in sorted(rows.items())]
        content = {**manifest, "files": files,
                   "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        with open(scratch / MANIFEST, "w") as f:
            json.dump(content, f, indent=2, ensure_ascii=False, default=str)
            f.flush()
            os.fsync(f.fileno())
        replace_dir(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return content


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def count_rows(path: Path) -> int:
    """Rows of a Parquet file (its footer) or a CSV file with a header (parsed, so quoted line
    breaks do not count)."""
    import duckdb
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    options = "" if path.suffix == ".parquet" else ", header = true, all_varchar = true"
    with duckdb.connect() as con:
        return con.execute(f"SELECT count(*) FROM {reader}('{path}'{options})").fetchall()[0][0]


def verify_folder(folder: Path) -> list[str]:
    """What is wrong with a published folder (empty when every listed file matches its manifest:
    present, same size, same SHA-256, same row count)."""
    content = read_manifest(folder)
    if content is None:
        return [f"{folder}: no {MANIFEST}"]
    problems = []
    for entry in content["files"]:
        path = folder / entry["name"]
        if not path.exists():
            problems.append(f"{path}: listed in the manifest but missing")
        elif path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
            problems.append(f"{path}: size or SHA-256 differs from the manifest")
        elif "rows" in entry and path.suffix in (".parquet", ".csv") and count_rows(path) != entry["rows"]:
            problems.append(f"{path}: {count_rows(path)} rows, the manifest says {entry['rows']}")
    return problems
