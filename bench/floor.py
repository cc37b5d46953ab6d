"""The floor: DuckDB reading every raw file once into Parquet, with no logic at all.

Run as a script so its memory is measured on its own: `python -m bench.floor DATA_DIR OUT_DIR`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

JSONL = ("app", "web", "miniprogram", "live", "mall_orders")
CSV = ("official_account", "guide", "pos", "crm", "service")


def main(data_dir: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2})
    raw = data_dir / "raw"
    rows = 0
    jobs = [(s, f"read_json('{raw}/{s}/*/*.jsonl*', format='newline_delimited', ignore_errors=true, "
                f"union_by_name=true, maximum_object_size=16777216)") for s in JSONL]
    jobs.append(("ads_clicks", f"read_json('{raw}/ads/*/clicks*.jsonl*', format='newline_delimited', "
                               f"ignore_errors=true, union_by_name=true)"))
    # Latin-1 decodes any bytes: the floor reads GB18030 tills without understanding them.
    jobs += [(s, f"read_csv('{raw}/{s}/*/*.csv*', all_varchar=true, ignore_errors=true, union_by_name=true, "
                 f"null_padding=true, encoding='latin-1')") for s in CSV]
    jobs.append(("ads_costs", f"read_csv('{raw}/ads/*/cost*.csv*', all_varchar=true, ignore_errors=true)"))
    for name, relation in jobs:
        target = out / f"{name}.parquet"
        rows += con.execute(f"COPY (SELECT * FROM {relation}) TO '{target}' (FORMAT parquet)").fetchone()[0]
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
