"""What consumers can read now, from the published folders themselves (their manifests and the
snapshot's `_snapshot` table): `cdp status` prints it, a failed night's report lists it."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.lib.publish.folder import read_manifest


def published_summary(data_dir: Path) -> list[str]:
    """What consumers can read now: each audience's and platform's latest folder with its rows,
    the snapshot's night, the latest report."""
    root = data_dir / "published"
    lines = []
    for kind in ("audiences", "conversions"):
        for item in sorted(p for p in (root / kind).glob("*") if p.is_dir()):
            days = sorted(d for d in item.glob("????-??-??") if read_manifest(d))
            if days:
                rows = read_manifest(days[-1]).get("row_count")
                lines.append(f"{kind}/{item.name}: {days[-1].name}, {'?' if rows is None else f'{rows:,}'} rows")
    snapshot = root / "cdp.duckdb"
    if snapshot.exists():
        with duckdb.connect(str(snapshot), read_only=True) as con:
            as_of, rows = con.execute("SELECT as_of_date, table_rows FROM _snapshot").fetchall()[0]
        lines.append(f"cdp.duckdb: night {as_of}, {len(json.loads(rows))} tables")
    reports = sorted((root / "reports").glob("????-??-??"))
    if reports:
        lines.append(f"reports/{reports[-1].name}/index.html")
    return lines
