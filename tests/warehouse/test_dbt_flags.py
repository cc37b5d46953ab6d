"""No network at run time: dbt run in the project, by the pipeline or by hand, sends no usage
statistics (the project's `flags`, not each caller's environment)."""
from __future__ import annotations

import os
import subprocess

from pipelines.lib.warehouse.dbt import DBT, PROJECT_DIR


def test_dbt_in_the_project_sends_no_usage_statistics_without_being_told(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK")}
    done = subprocess.run([str(DBT), "--debug", "parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir",
                           str(PROJECT_DIR), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "'send_anonymous_usage_stats': 'False'" in done.stdout
