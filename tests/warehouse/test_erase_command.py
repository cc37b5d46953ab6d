"""`cdp erase --member-id X` on a copy of the month after its last night: the person is gone from
the lake, the warehouse, every published folder (republished, verified) and the analyst
snapshot, down to the bytes of the files."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from click.testing import CliRunner

from pipelines.cli import main
from tests.warehouse.test_month import LAST_NIGHT


def published_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "published").rglob("*") if p.is_file())


def test_erase_removes_a_published_member_everywhere_and_reports_it(ingested_month, tmp_path):
    source, _, _ = ingested_month
    data_dir = tmp_path / "copy"
    shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns(".dagster", ".staging"))
    folder = data_dir / "published" / "audiences" / "recent_buyers_female_over_20" / LAST_NIGHT.isoformat()
    with duckdb.connect() as con:
        # a published member, preferably one whose order also went to an ad platform
        con.execute(f"ATTACH '{data_dir / 'warehouse' / 'cdp.duckdb'}' AS w (READ_ONLY)")
        customer, member = con.execute(f"""
            SELECT m.customer_id, m.member_id FROM '{folder / 'members.parquet'}' m
            WHERE m.member_id IS NOT NULL
            ORDER BY m.customer_id IN (SELECT customer_id FROM w.ad_conversions) DESC, m.customer_id
            LIMIT 1""").fetchall()[0]
    before = [p for p in published_files(data_dir) if member.encode() in p.read_bytes()]
    assert before, "the member should be in some published file to begin with"

    done = CliRunner().invoke(main, ["erase", "--data-dir", str(data_dir), "--member-id", member])
    assert done.exit_code == 0, done.output
    assert f"Erased customer {customer}" in done.output
    assert "published folders republished without them: " in done.output and "analyst snapshot: rebuilt" in done.output

    # nothing published holds the person any more, not even as bytes of a file
    for path in published_files(data_dir):
        data = path.read_bytes()
        assert member.encode() not in data and customer.encode() not in data, path
    from tests.verify_published import main as verify
    assert verify([str(data_dir)]) == 0
    with duckdb.connect(str(data_dir / "published" / "cdp.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers WHERE customer_id = ? OR member_id = ?",
                           [customer, member]).fetchall() == [(0,)]
    with duckdb.connect(str(data_dir / "warehouse" / "cdp.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM identity_map WHERE id_value = ?", [member]).fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM customer_traits WHERE customer_id = ?", [customer]).fetchall() == [(0,)]
    with duckdb.connect() as con:
        lake = data_dir / "lake" / "crm" / "members"
        assert con.execute(f"SELECT count(*) FROM read_parquet('{lake}/*/part-0.parquet') WHERE member_id = ?",
                           [member]).fetchall() == [(0,)]

    again = CliRunner().invoke(main, ["erase", "--data-dir", str(data_dir), "--member-id", member])
    assert again.exit_code == 1 and "Nobody is known by that member id" in again.output
