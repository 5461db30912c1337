"""One lock mechanism: ``flock`` on a small file in the workspace.

The kernel drops the lock when a process dies, so a lock left by a dead process is
never stale; the pid and start time written inside are only for people to read.
Two callers (processes or threads) each open the file, so they exclude each other.

* :func:`held` is the primitive: take it at once or fail (``wait=0``), or wait up to
  ``wait`` seconds.
* :func:`job_lock` is one run of a job per campaign at a time (two reminder runs
  could both send); it waits ``storage.lock_timeout_seconds``.
* :func:`messages_lock` is the lock every sender holds while it settles and writes the
  ``sent_messages`` log, whichever job sends (see :mod:`automations.sending`).

Locks are always taken in the same order: a job's own lock, then the messages lock,
then the workbook's (``store.locked()``), so two jobs never wait on each other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import JobError
from .files import private_dir, private_fd

if TYPE_CHECKING:
    from .context import Context

MESSAGES = "messages"
POLL = 0.05


@contextlib.contextmanager
def held(path: Path, *, wait: float, busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; after ``wait`` seconds raise ``busy(holder)``."""
    private_dir(path.parent)
    fd = private_fd(path, os.O_RDWR)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = path.read_text(errors="replace").strip() or "another process"
                    raise busy(holder) from None
                time.sleep(POLL)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {dt.datetime.now():%Y-%m-%d %H:%M:%S}".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _campaign_folder(ctx: Context) -> Path:
    return ctx.settings.workspace / ctx.campaign.id


@contextlib.contextmanager
def job_lock(ctx: Context, name: str) -> Iterator[None]:
    """One run of a job per campaign at a time; wait a while, then say so plainly."""

    def busy(_holder: str) -> JobError:
        return JobError(
            f"another '{name}' run for this campaign is still going; nothing was "
            "done. Try again in a few minutes."
        )

    path = _campaign_folder(ctx) / f".{name}.lock"
    with held(path, wait=ctx.settings.org.storage.lock_timeout_seconds, busy=busy):
        yield


@contextlib.contextmanager
def messages_lock(ctx: Context) -> Iterator[None]:
    """The one lock for settling and writing the sent-messages log, whichever job sends."""

    def busy(_holder: str) -> JobError:
        return JobError(
            "another run is sending messages for this campaign right now; nothing was "
            "sent. Try again in a few minutes."
        )

    path = _campaign_folder(ctx) / f".{MESSAGES}.lock"
    with held(path, wait=ctx.settings.org.storage.lock_timeout_seconds, busy=busy):
        yield


__all__ = ["held", "job_lock", "messages_lock"]
