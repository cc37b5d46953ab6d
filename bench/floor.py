"""The floor: DuckDB reading every raw file once into Parquet, with no logic at all.

Run as a script so its memory is measured on its own: `python -m bench.floor DATA_DIR OUT_DIR [DAY ...]`
(with days, only those nights' delivery folders).
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SOURCES = ("app", "web", "miniprogram", "live", "mall_orders", "official_account", "guide", "pos", "crm", "ads",
           "service")


def main(data_dir: Path, out: Path, days: list[str] | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2})
    raw = data_dir / "raw"
    rows = 0
    # Every file read as raw lines into one VARCHAR column: the least any reader must do
    # (decompress, split, store). Lines that are not UTF-8 (GB18030 tills) are skipped.
    lines = ("columns = {'line': 'VARCHAR'}, delim = '\\x01', quote = '', escape = '', header = false, "
             "auto_detect = false, ignore_errors = true")
    jobs = []
    for s in SOURCES:
        folders = [raw / s / d for d in days] if days else sorted((raw / s).glob("*"))
        globs = [f"'{f}/*'" for f in folders if f.is_dir() and any(f.iterdir())]
        if globs:
            jobs.append((s, f"read_csv([{', '.join(globs)}], {lines})"))
    for name, relation in jobs:
        target = out / f"{name}.parquet"
        rows += con.execute(f"COPY (SELECT * FROM {relation}) TO '{target}' (FORMAT parquet)").fetchone()[0]
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:] or None))
