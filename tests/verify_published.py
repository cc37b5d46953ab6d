"""Checks everything a data directory has published against its manifests.

    python -m tests.verify_published [DATA_DIR]      (default: $CDP_DATA_DIR or data/)

Every folder under published/audiences/<audience>/<date>/, published/conversions/<platform>/<date>/
and published/reports/<date>/
must hold a `_manifest.json`, and every file it lists must exist with the listed size, SHA-256
and row count. Prints one line per folder and exits 1 if anything is wrong.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.lib.publish.folder import read_manifest, verify_folder


def published_folders(data_dir: Path) -> list[Path]:
    root = data_dir / "published"
    folders = [p for kind in ("audiences", "conversions") for p in (root / kind).glob("*/????-??-??")]
    return sorted(p for p in [*folders, *(root / "reports").glob("????-??-??")] if p.is_dir())


def main(argv: list[str]) -> int:
    data_dir = Path(argv[0] if argv else os.environ.get("CDP_DATA_DIR", "data"))
    folders = published_folders(data_dir)
    bad = 0
    for folder in folders:
        problems = verify_folder(folder)
        manifest = read_manifest(folder) or {}
        label = folder.relative_to(data_dir).as_posix()
        print(f"{'ok ' if not problems else 'BAD'} {label}: {manifest.get('row_count', '?')} rows, "
              f"{len(manifest.get('files', []))} files" + "".join(f"\n    {p}" for p in problems))
        bad += bool(problems)
    print(f"{len(folders)} published folders, {bad} with problems")
    return 1 if bad or not folders else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
