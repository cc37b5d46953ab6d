"""Wall time and peak memory of a command, measured from outside the process."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mib: float
    returncode: int
    cpu_s: float = 0.0      # user + system time of the process and its waited-for children


def measure(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> Measurement:
    """Runs `cmd`; peak RSS is the largest of the process and its waited-for children (wait4)."""
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: a chatty child never blocks
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            out.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{out.read().decode(errors='replace')[-3000:]}")
    return Measurement(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, returncode=code,
                       cpu_s=usage.ru_utime + usage.ru_stime)


@contextmanager
def scratch(name: str, keep: bool) -> Iterator[Path]:
    """A work directory under $BENCH_DIR (default: the system's temp), removed afterwards unless kept."""
    work = Path(tempfile.mkdtemp(prefix=f"cdp-bench-{name}-", dir=os.environ.get("BENCH_DIR")))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
