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


def test_a_second_writer_on_the_same_data_dir_is_refused_naming_the_first(tmp_path):
    """Two `cdp run` (or a run and an erase) at once: the second stops at once, changes nothing."""
    import subprocess
    import sys
    from pathlib import Path

    from pipelines.lib.run_lock import exclusive

    cdp = Path(sys.executable).parent / "cdp"
    with exclusive(tmp_path, "cdp run --all"):
        for args in (["run", "--date", "2026-01-01"], ["erase", "--member-id", "M1"]):
            done = subprocess.run([str(cdp), *args, "--data-dir", str(tmp_path)], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 3, done.stderr
            assert f"{tmp_path} is busy: `cdp run --all` (pid " in done.stderr
            assert "Wait for it to finish, or stop it, then run this again." in done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [".cdp.lock"]       # nothing else written
    # the lock dies with its holder: the next command gets past it (and fails for its own reason)
    done = subprocess.run([str(cdp), "erase", "--member-id", "M1", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Nobody is known by that member id" in done.stdout


def test_the_cdp_executable_prints_all_it_wrote_to_a_pipe_and_exits_with_its_code(tmp_path):
    """`cdp` leaves without the interpreter's teardown (`pipelines.cli.command`): what it printed
    into a pipe (block-buffered, larger than one buffer) still arrives whole, and click's usage
    error keeps its exit code 2."""
    import subprocess
    import sys
    from pathlib import Path

    cdp = Path(sys.executable).parent / "cdp"
    channels = [f"channel_{i:04d}" for i in range(600)]
    paths = tmp_path / "paths.csv"
    paths.write_text("path,conversions,non_conversions,revenue\n"
                     + "".join(f"{c},1,0,10.0\n" for c in channels))
    done = subprocess.run([str(cdp), "attribute", "--paths", str(paths), "--model", "last_touch"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(done.stdout) > 16384 and len(lines) == 1 + len(channels)
    assert lines[-1] == "channel_0599,1.000000,10.000000"
    done = subprocess.run([str(cdp), "run", "--data-dir", str(tmp_path), "--date", "2026-13-01"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "'2026-13-01' is not a date: expected YYYY-MM-DD" in done.stderr
