"""`cdp attribute` as an analyst runs it: CSV on stdout, readable errors and exit codes."""
from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from pipelines.cli import main

PATHS = ("path,conversions,non_conversions,revenue\n"
         "paid_search > email > direct,2,5,100\n"
         "email,1,3,20\n"
         "direct > direct,0,4,0\n")


def run(tmp_path, model: str, text: str = PATHS):
    file = tmp_path / "paths.csv"
    file.write_text(text)
    return CliRunner().invoke(main, ["attribute", "--paths", str(file), "--model", model])


def test_attribute_writes_channel_credits_as_csv_on_stdout(tmp_path):
    result = run(tmp_path, "position_based")
    assert result.exit_code == 0, result.output
    # paid_search > email > direct (x2, 100): .4 / .2 / .4 -> .8 / .4 / .8 and 40 / 20 / 40; email (x1, 20).
    assert result.output == ("channel,conversions,revenue\n"
                             "direct,0.800000,40.000000\n"
                             "email,1.400000,40.000000\n"
                             "paid_search,0.800000,40.000000\n")


def test_every_path_summary_model_runs_from_the_command_and_sums_to_the_totals(tmp_path):
    for model in ("first_touch", "last_touch", "linear", "position_based", "markov", "shapley"):
        result = run(tmp_path, model)
        assert result.exit_code == 0, (model, result.output)
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert [r["channel"] for r in rows] == ["direct", "email", "paid_search"]
        assert abs(sum(float(r["conversions"]) for r in rows) - 3) < 1e-5
        assert abs(sum(float(r["revenue"]) for r in rows) - 120) < 1e-5


def test_time_decay_fails_saying_it_needs_touch_times(tmp_path):
    result = run(tmp_path, "time_decay")
    assert result.exit_code == 2
    assert "time_decay cannot run on a path summary" in result.output and "no touch times" in result.output


def test_an_unknown_model_fails_before_reading_the_file(tmp_path):
    result = CliRunner().invoke(main, ["attribute", "--paths", str(tmp_path / "missing.csv"), "--model", "lineal"])
    assert result.exit_code == 2 and "unknown model 'lineal': expected one of first_touch" in result.output


def test_a_bad_file_fails_with_its_line_and_field(tmp_path):
    result = run(tmp_path, "linear", PATHS + "email > direct,two,1,0\n")
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'paths.csv'}, line 5, field 'conversions': 'two' is not a whole number" \
        in result.output


def test_a_missing_file_fails_readably(tmp_path):
    result = CliRunner().invoke(main, ["attribute", "--paths", str(tmp_path / "nope.csv"), "--model", "markov"])
    assert result.exit_code == 1 and "nope.csv: cannot be read (No such file or directory)" in result.output
