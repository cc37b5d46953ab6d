"""One writer per data directory: `cdp run` and `cdp erase` take `<data_dir>/.cdp.lock`.

DuckDB allows one writing process per database file, and two nights built at once would race
on the lake and the published folders. A second command does not wait silently or corrupt
anything: it stops at once and names who holds the data directory. The lock is the operating
system's (flock): it goes away with its process, even a killed one, so there is nothing stale
to clean up.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


class DataDirBusy(RuntimeError):
    """Another cdp command is writing to this data directory."""


@contextmanager
def exclusive(data_dir: Path, command: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".cdp.lock"
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another cdp command"
            raise DataDirBusy(f"{data_dir} is busy: {holder} is writing to it ({path}). Wait for it to "
                              "finish, or stop it, then run this again.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`{command}` (pid {os.getpid()}, since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC)")
        handle.flush()
        yield
    finally:
        handle.close()              # closing releases the lock
