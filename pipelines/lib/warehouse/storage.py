"""The warehouse file itself."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb


def compact(db: Path, leave_out: tuple[str, ...] = ()) -> None:
    """Rewrite the DuckDB file from its live tables: dropped or replaced tables leave their old
    blocks (and bytes) in the file until it is rewritten, deleted rows theirs in live blocks; after
    an erasure they must go. Tables in `leave_out` are not copied (bookkeeping about the old file)."""
    fresh = db.with_name(db.name + ".compacting")
    fresh.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{db}' AS old (READ_ONLY)")
        con.execute(f"ATTACH '{fresh}' AS fresh")
        con.execute("COPY FROM DATABASE old TO fresh")
        for table in leave_out:
            con.execute(f'DROP TABLE IF EXISTS fresh."{table}"')
    os.replace(fresh, db)
