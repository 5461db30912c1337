"""Run a forms job in a child process and kill it hard at a chosen point.

Usage: python forms_child.py CONFIG_DIR ISO_NOW MODE
MODE: push-before-links | push-after-first-email | collect-before-write
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automations.config import load_settings
from automations.context import make_context
from automations.jobs.forms import collect_job, push_job
from automations.mail import get_transport


class Killer:
    def __init__(self, inner: object) -> None:
        self.inner = inner

    def send(self, msg: object) -> str:
        mid = self.inner.send(msg)  # type: ignore[attr-defined]
        os._exit(9)  # the first message went; the log never hears of it
        return str(mid)  # pragma: no cover

    def confirm(self, mid: str) -> bool | None:
        return self.inner.confirm(mid)  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    config, now, mode = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    ctx = make_context(load_settings(config), clock=lambda: now)
    staff = ctx.stores.staff
    real_write = staff.write

    def write(frames):  # type: ignore[no-untyped-def]
        if mode == "push-before-links" and "form_links" in frames:
            os._exit(9)  # forms made in the inbox, links never written
        if mode == "collect-before-write" and "raw_scores" in frames:
            os._exit(9)
        return real_write(frames)

    staff.write = write  # type: ignore[method-assign]
    real_save = staff._save_grids

    def save(grids, **kw):  # type: ignore[no-untyped-def]
        if mode == "collect-before-write" and "raw_scores" in grids:
            os._exit(9)  # collect adds its rows with append_rows, which saves here
        return real_save(grids, **kw)

    staff._save_grids = save  # type: ignore[method-assign]
    if mode == "push-after-first-email":
        ctx.extras["mail"] = Killer(get_transport(ctx))
    if mode.startswith("push"):
        push_job(ctx)
    else:
        collect_job(ctx)
    sys.exit(0)


if __name__ == "__main__":
    main()
