"""Reminders at scale: backend calls stay constant, time per message stays flat.

Builds the example campaign with N panel members (all shortlisters with email) and
runs the reminders job on the day shortlisting opens, on the local store and the
outbox. Prints, for each N: messages sent, workbook (backend) calls, seconds, and
milliseconds per message as a ratio against the smallest N measured in the same run.
Also times the timetable search on its hardest shape (12 candidates, 3 days, people
with caring times to fit around).

    /work/venv/bin/python bench/remind_bench.py
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.config.models import InterviewPlan  # noqa: E402
from automations.context import make_context  # noqa: E402
from automations.pipelines import remind_job  # noqa: E402
from automations.store import make_frame  # noqa: E402
from automations.store.local import LocalStore  # noqa: E402
from automations.transforms.timetable import (  # noqa: E402
    Candidate,
    InterviewDay,
    build_timetable,
    parse_unavailable,
)
from automations.workspace import init_campaign  # noqa: E402

CALLS = {"n": 0}


def counted(fn):  # type: ignore[no-untyped-def]
    def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
        CALLS["n"] += 1
        return fn(*a, **kw)

    return wrapper


LocalStore._read_grids = counted(LocalStore._read_grids)  # type: ignore[method-assign]
LocalStore._write_grids = counted(LocalStore._write_grids)  # type: ignore[method-assign]


def one(n: int) -> tuple[int, int, float]:
    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(ROOT / "config", tmp / "config")
        settings = load_settings(tmp / "config")
        when = dt.datetime(2027, 1, 11, 9)
        ctx = make_context(settings, clock=lambda: when)
        init_campaign(ctx)
        st = ctx.stores.staff
        st.append(
            "people",
            make_frame(
                st.tab("people"),
                [
                    {
                        "person_id": f"p{i:04d}",
                        "name": f"Person {i}",
                        "email": f"p{i}@example.net",
                        "kind": "lived experience",
                        "role": "panel member",
                        "shortlists": True,
                        "preferred_contact": "email",
                        "formats": "standard",
                    }
                    for i in range(n)
                ],
            ),
        )
        ctx = make_context(settings, clock=lambda: when)
        CALLS["n"] = 0
        t0 = time.perf_counter()
        res = remind_job(ctx)
        secs = time.perf_counter() - t0
        return res.messages_sent, CALLS["n"], secs
    finally:
        shutil.rmtree(tmp)


def main() -> None:
    print(
        f"{'people':>7} {'messages':>9} {'backend calls':>14} {'seconds':>8} "
        f"{'ms/message':>11} {'ratio':>6}"
    )
    base = None
    for n in (10, 100, 1000):
        sent, calls, secs = one(n)
        per = secs / sent * 1000
        base = base or per
        print(f"{n:>7} {sent:>9} {calls:>14} {secs:>8.2f} {per:>11.1f} {per / base:>6.2f}")

    plan = InterviewPlan()
    days = [InterviewDay(dt.date(2027, 2, d)) for d in (8, 9, 10)]
    for label, busy in (
        ("fits", {"p03": parse_unavailable("2027-02-09 09:00-11:00")}),
        (
            "no fit",
            {
                "p03": parse_unavailable("2027-02-09 09:00-11:00"),
                "p05": parse_unavailable("2027-02-10 afternoon"),
            },
        ),
    ):
        cands = [
            Candidate(
                chr(65 + i), tuple(parse_unavailable("2027-02-08 morning")) if i % 3 == 0 else ()
            )
            for i in range(12)
        ]
        t0 = time.perf_counter()
        for _ in range(10):
            res = build_timetable(cands, days, plan, busy)
        ms = (time.perf_counter() - t0) / 10 * 1000
        print(
            f"timetable, 12 candidates over 3 days with caring times ({label}): {ms:.1f} ms "
            f"-> {'a timetable' if res.ok else 'no timetable, with reasons'}"
        )


if __name__ == "__main__":
    main()
