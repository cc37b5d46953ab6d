"""Which failures are worth retrying: transient ones only.

A night retries a step when what stopped it can go away on its own: another process holding the
warehouse file for a moment (an analyst connected to the working database, a backup copying it),
a busy or timed-out network file system. It does not retry a failed gate, a bad file, a full
disk or a bug: those need a person, and a retry would only repeat the failure later.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

# OS errors that clear up without anyone doing anything.
TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.ECONNRESET, errno.ESTALE, errno.EINTR}
# What DuckDB (directly, or through dbt's message) says when another process holds the file.
TRANSIENT_MESSAGES = ("Could not set lock on file", "Conflicting lock is held")


def is_transient(error: BaseException | str) -> bool:
    """True for an error (or its causes, or dbt's message text) that a later attempt may not meet."""
    if isinstance(error, str):
        return any(m in error for m in TRANSIENT_MESSAGES)
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
            return True
        if any(m in str(error) for m in TRANSIENT_MESSAGES):
            return True
        error = error.__cause__ or error.__context__
    return False


def retry_settings() -> tuple[int, int]:
    """(retries, seconds to wait before the first; doubled each time), from the environment:
    `CDP_TRANSIENT_RETRIES` (default 3) and `CDP_RETRY_WAIT_SECONDS` (default 60)."""
    return int(os.environ.get("CDP_TRANSIENT_RETRIES", "3")), int(os.environ.get("CDP_RETRY_WAIT_SECONDS", "60"))


def retry_request(context):
    """The retry of the step a transient failure asks for: `dg.RetryRequested` with the configured
    number of retries, waiting twice as long at each attempt; None when retries are off."""
    import dagster as dg

    retries, wait = retry_settings()
    if retries <= 0:
        return None
    return dg.RetryRequested(max_retries=retries, seconds_to_wait=wait * 2 ** context.retry_number)


@contextmanager
def retry_transient(context) -> Iterator[None]:
    """Inside a Dagster asset: turn a transient failure into a retry of the step; let every other
    failure through unchanged."""
    import dagster as dg

    try:
        yield
    except dg.RetryRequested:
        raise
    except Exception as error:
        retry = retry_request(context) if is_transient(error) else None
        if retry is not None:
            raise retry from error
        raise
