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
    peak_tree_mib: float = 0.0   # the largest sum of RSS over the whole process tree at one moment


def _tree_rss_kib(pid: int) -> int:
    """RSS of `pid` and all its descendants now (Linux /proc), in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue           # the process ended while we looked
    return total


def measure(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> Measurement:
    """Runs `cmd`; peak RSS is the largest of the process and its waited-for children (wait4);
    the tree's peak is sampled every 0.2 s (dbt and DuckDB run beside the Python process)."""
    # A scheduled run finds its modules' byte-code cached. A shell that forbids writing it (this
    # machine's sets PYTHONDONTWRITEBYTECODE; `make` unsets it) would add compiling every import,
    # 10 to 25 s per `cdp` process here, to every figure, so it is dropped wherever the bench runs.
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: a chatty child never blocks
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        tree_peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, _tree_rss_kib(proc.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            out.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{out.read().decode(errors='replace')[-3000:]}")
    return Measurement(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, returncode=code,
                       cpu_s=usage.ru_utime + usage.ru_stime,
                       peak_tree_mib=max(tree_peak, usage.ru_maxrss) / 1024)


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
