"""Wall time and peak memory of a command, measured from outside the process."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mib: float
    returncode: int


def measure(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> Measurement:
    """Runs `cmd`; peak RSS is the largest of the process and its waited-for children (wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{stderr[-3000:]}")
    return Measurement(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, returncode=code)
