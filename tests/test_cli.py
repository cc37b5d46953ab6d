"""The command line refuses what it cannot do, with a message that says what to type instead."""
from __future__ import annotations

from click.testing import CliRunner

from pipelines.cli import main


def test_run_without_nights_says_which_options_exist(tmp_path):
    result = CliRunner().invoke(main, ["run", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "say which nights: --date D, --from A --to B, or --all" in result.output


def test_a_date_that_is_not_a_date_is_named(tmp_path):
    result = CliRunner().invoke(main, ["run", "--data-dir", str(tmp_path), "--date", "2026-13-01"])
    assert result.exit_code == 2
    assert "'2026-13-01' is not a date: expected YYYY-MM-DD" in result.output


def test_a_backwards_range_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["run", "--data-dir", str(tmp_path), "--from", "2026-02-02", "--to", "2026-02-01"])
    assert result.exit_code == 2
    assert "--to 2026-02-01 is before --from 2026-02-02" in result.output


def test_all_nights_of_an_empty_landing_zone_points_to_generate(tmp_path):
    result = CliRunner().invoke(main, ["run", "--data-dir", str(tmp_path), "--all"])
    assert result.exit_code == 2
    assert "run `cdp generate` first" in result.output


def test_generate_writes_a_landing_zone_and_says_where(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--data-dir", str(tmp_path), "--customers", "50", "--days", "2",
                                       "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert f"into {tmp_path / 'raw'}; ground truth in {tmp_path / 'truth'}." in result.output
    # Two quiet days of 50 people: not every channel sees them, but the daily exports are there.
    assert {p.name for p in (tmp_path / "raw").iterdir()} >= {"ads", "app", "crm", "miniprogram"}
