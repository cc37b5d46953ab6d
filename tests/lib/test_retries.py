"""Which failures a night retries: transient ones only."""
from __future__ import annotations

import errno
import subprocess
import sys

import duckdb
import pytest

from pipelines.lib.retries import is_transient


def test_a_database_file_held_by_another_process_is_transient(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = duckdb.connect(str(db))
    try:
        # DuckDB's own words when another process holds the file, from a second process
        done = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect('{db}')"],
                              capture_output=True, text=True)
    finally:
        holder.close()
    assert done.returncode != 0 and is_transient(done.stderr)


@pytest.mark.parametrize("error, transient", [
    (OSError(errno.EBUSY, "Device or resource busy"), True),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), True),
    (OSError(errno.ENOSPC, "No space left on device"), False),      # needs a person
    (OSError(errno.ENOENT, "No such file or directory"), False),
    (ValueError("expected 7 fields"), False),
])
def test_only_errors_that_go_away_by_themselves_are_transient(error, transient):
    assert is_transient(error) is transient


def test_a_transient_cause_makes_the_wrapping_error_transient():
    try:
        try:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        except OSError as cause:
            raise RuntimeError("writing the audience folder failed") from cause
    except RuntimeError as error:
        assert is_transient(error)
    assert not is_transient("dbt model customers error: Binder Error: column x not found")
