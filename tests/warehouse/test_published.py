"""What the month's last night published for consumers: every audience's folder, whole and
matching its manifest, holding exactly the members who may be contacted."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.publish.audiences import consent_sql
from pipelines.lib.publish.folder import read_manifest, verify_folder
from pipelines.lib.specs import load_specs
from pipelines.lib.warehouse.dbt import PROJECT_DIR
from tests.warehouse.conftest import query
from tests.warehouse.test_month import LAST_NIGHT

pytestmark = pytest.mark.xdist_group("month")


def test_every_audience_is_published_with_the_members_who_may_be_contacted(ingested_month):
    data_dir, _, _ = ingested_month
    audiences = load_specs(PROJECT_DIR).audiences
    root = data_dir / "published" / "audiences"
    assert sorted(p.name for p in root.iterdir()) == sorted(a.name for a in audiences)
    published = 0
    for audience in audiences:
        folder = root / audience.name / LAST_NIGHT.isoformat()
        manifest = read_manifest(folder)
        assert verify_folder(folder) == [], audience.name
        assert {g["status"] for g in manifest["gates"]} == {"pass"}
        expected = [r[0] for r in query(data_dir, f"""
            SELECT m.customer_id FROM audience_membership m JOIN customers c USING (customer_id)
            WHERE m.audience = ? AND m.as_of_date = ? AND NOT m.is_holdout
              AND {consent_sql(audience.purpose)} ORDER BY 1""", audience.name, LAST_NIGHT)]
        with duckdb.connect() as con:
            got = [r[0] for r in con.execute(f"SELECT customer_id FROM '{folder / 'members.parquet'}'").fetchall()]
            header = con.execute(f"SELECT * FROM read_csv('{folder / 'members.csv'}') LIMIT 0").description
        assert got == expected and manifest["row_count"] == len(expected), audience.name
        assert [d[0] for d in header] == ["customer_id", *audience.export]
        published += len(got)
    assert published > 0


READER = r"""
import json, pathlib, sys, time
import duckdb
db, mode, stop, out = sys.argv[1:5]
reads, errors, seen = 0, [], set()
SQL = "SELECT run_id, table_rows->>'customers', (SELECT count(*) FROM customers) FROM _snapshot"
held = duckdb.connect(db, read_only=True) if mode == "hold" else None   # an analyst's session, open all night
while not pathlib.Path(stop).exists():
    try:
        con = held or duckdb.connect(db, read_only=True)                 # or one who connects again and again
        run, promised, customers = con.execute(SQL).fetchone()
        if int(promised) != customers:
            errors.append(f"partial: {customers} customers, the snapshot promised {promised}")
        seen.add(run)
        reads += 1
        if con is not held:
            con.close()
    except Exception as e:
        errors.append(repr(e))
    time.sleep(0.02)
pathlib.Path(out).write_text(json.dumps({"reads": reads, "errors": errors, "runs": sorted(seen)}))
"""


def test_an_analyst_reading_the_snapshot_all_night_never_fails_nor_sees_half_a_night(ingested_month, tmp_path):
    import json
    import subprocess
    import sys

    from pipelines.lib.publish.snapshot import snapshot_path
    from pipelines.lib.layout import Layout
    from pipelines.runner import run_night

    data_dir, settings, _ = ingested_month
    db = snapshot_path(Layout(data_dir))
    with duckdb.connect(str(db), read_only=True) as con:
        [(as_of, first_run)] = con.execute("SELECT as_of_date, run_id FROM _snapshot").fetchall()
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                                            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        [(version,)] = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                                   "WHERE database_name = current_database()").fetchall()
    assert as_of == LAST_NIGHT and version.startswith("v1.2.0")
    assert tables >= {"customers", "identity_map", "events", "orders", "customer_traits", "audience_membership",
                      "audience_changes", "touchpoints", "attribution", "channel_performance"}
    # DuckDB 1.x opens storage versions 64..68 (the file header's version field): not the 2.0 format
    assert 64 <= int.from_bytes(db.read_bytes()[12:20], "little") <= 68
    stop = tmp_path / "stop"
    readers = {mode: subprocess.Popen([sys.executable, "-c", READER, str(db), mode, str(stop), str(tmp_path / mode)])
               for mode in ("hold", "reconnect")}
    try:
        night = run_night(LAST_NIGHT, settings)
    finally:
        stop.touch()
        for reader in readers.values():
            reader.wait(timeout=60)
    held, fresh = (json.loads((tmp_path / mode).read_text()) for mode in ("hold", "reconnect"))
    assert night.success, night.explain()
    assert held["errors"] == fresh["errors"] == [] and held["reads"] > 20 and fresh["reads"] > 20
    assert held["runs"] == [first_run]                                   # an open session keeps its night
    assert fresh["runs"] == sorted([first_run, night.run_id])            # a new one sees the old, then the new


def test_the_verify_script_accepts_every_published_folder(ingested_month, capsys):
    from tests.verify_published import main as verify

    data_dir, _, _ = ingested_month
    assert verify([str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "0 with problems" in out and "published/conversions/tencent_ads/" in out


def test_the_run_report_renders_in_headless_chromium_without_errors(ingested_month, tmp_path):
    from io import BytesIO

    from PIL import Image, ImageStat
    from playwright.sync_api import sync_playwright

    from tests.conftest import chromium_path

    data_dir, _, _ = ingested_month
    page_file = data_dir / "published" / "reports" / LAST_NIGHT.isoformat() / "index.html"
    assert verify_folder(page_file.parent) == []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(page_file.as_uri())
        title = page.locator("h1").inner_text()
        charts = page.locator("svg").count()
        sections = page.locator("h2").all_inner_texts()
        shot = page.screenshot(full_page=True)
        browser.close()
    assert errors == []
    assert title == f"Night {LAST_NIGHT}" and charts >= 4
    assert {"Rows per stage", "Gates", "Audiences", "Lifecycle"} <= set(sections)
    assert any(s.startswith("Attribution by model") for s in sections) and any(s.startswith("Funnel") for s in sections)
    image = Image.open(BytesIO(shot)).convert("L")
    stats = ImageStat.Stat(image)
    assert image.size[1] > 900 and stats.stddev[0] > 10          # not blank: text, tables and bars
    dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
    assert 0.005 < dark < 0.5


def test_cdp_status_says_what_consumers_can_read(ingested_month):
    from click.testing import CliRunner

    from pipelines.cli import main

    data_dir, _, _ = ingested_month
    done = CliRunner().invoke(main, ["status", "--data-dir", str(data_dir)])
    published = done.output.split("Published:")[1]
    [(members,)] = query(data_dir, "SELECT count(*) FROM '" + str(data_dir / "published" / "audiences" /
                         "recent_buyers_female_over_20" / LAST_NIGHT.isoformat() / "members.parquet") + "'")
    assert f"audiences/recent_buyers_female_over_20: {LAST_NIGHT}, {members:,} rows" in published
    assert f"cdp.duckdb: night {LAST_NIGHT}" in published and f"reports/{LAST_NIGHT}/index.html" in published
    assert "conversions/tencent_ads:" in published
