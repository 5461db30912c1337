"""Run the reminders job in a child process and kill it hard at a chosen point.

Usage: python remind_child.py CONFIG_DIR ISO_NOW MODE [N]
MODE: before-send | after-send (after the Nth message is handed over) | before-outcome
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automations.config import load_settings
from automations.context import make_context
from automations.mail import delivery, get_transport
from automations.pipelines import remind_job


class Killer:
    def __init__(self, inner: object, mode: str, n: int) -> None:
        self.inner, self.mode, self.n, self.count = inner, mode, n, 0

    def send(self, msg: object) -> str:
        if self.mode == "before-send":
            os._exit(9)
        mid = self.inner.send(msg)  # type: ignore[attr-defined]
        self.count += 1
        if self.mode == "after-send" and self.count >= self.n:
            os._exit(9)  # the message went; the log never hears of it
        return str(mid)

    def confirm(self, mid: str) -> bool | None:
        return self.inner.confirm(mid)  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    config, now, mode = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    ctx = make_context(load_settings(config), clock=lambda: now)
    ctx.extras["mail"] = Killer(get_transport(ctx), mode, n)
    if mode == "before-outcome":
        real = delivery.write_rows
        calls = {"n": 0}

        def write_rows(store, changes):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 2:
                os._exit(9)  # every message sent, the outcome never written
            return real(store, changes)

        delivery.write_rows = write_rows  # type: ignore[assignment]
    remind_job(ctx)
    sys.exit(0)


if __name__ == "__main__":
    main()
