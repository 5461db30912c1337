"""Run 'scoresheets post' in a child process and kill it hard at a chosen point.

Usage: python papers_child.py CONFIG_DIR ISO_NOW MODE
MODE: after-pack (papers printed, no letter yet) | before-log (letter files written,
the sent-messages log not yet) | after-log (letter logged, Needs attention not yet)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automations import papers
from automations.config import load_settings
from automations.context import make_context
from automations.mail.delivery import MessagesLog


def main() -> None:
    config, now, mode = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    ctx = make_context(load_settings(config), clock=lambda: now)
    if mode == "after-pack":

        def send_once(*_a: Any, **_k: Any) -> Any:
            os._exit(9)

        papers.send_once = send_once  # type: ignore[assignment]
    real = MessagesLog.record_intended

    def record_intended(self: MessagesLog, rows: Any) -> int:
        if mode == "before-log":
            os._exit(9)
        n = real(self, rows)
        if mode == "after-log":
            os._exit(9)
        return n

    MessagesLog.record_intended = record_intended  # type: ignore[method-assign]
    papers.post_papers(ctx)
    sys.exit(0)


if __name__ == "__main__":
    main()
