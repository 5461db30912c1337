"""Rewards accrual: time and backend calls as the number of people and rows grows.

Prints, for each size, the time of the pure accrual (transform only), the time of the
whole job on the local store (one read, one write), the time per ledger line relative to
the smallest size (the baseline, measured in the same run), and the backend calls made.
The calls must stay at 1 read + 1 write whatever the size; the time per line should stay
roughly flat (linear work).

    /work/venv/bin/python bench/rewards_accrual.py
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.context import make_context  # noqa: E402
from automations.jobs.rewards import accrue_job  # noqa: E402
from automations.store import LocalStore, make_frame  # noqa: E402
from automations.transforms import rewards as R  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402

ACTIVITIES = ["shortlisting", "preparation meeting", "interview day", "decision meeting"]


def build(n_people: int, tmp: Path) -> Any:
    cfg = tmp / "config"
    shutil.copytree(ROOT / "config", cfg)
    settings = load_settings(cfg)
    ctx = make_context(settings, clock=lambda: dt.datetime(2027, 3, 1, 22))
    init_campaign(ctx)
    staff = ctx.stores.staff
    staff.read(["people", "attendance", "expense_claims"])
    people = [
        {
            "person_id": f"x{i:05d}",
            "name": "Invented",
            "kind": "lived experience",
            "role": "panel member",
            "reward_choice": "payment",
        }
        for i in range(n_people)
    ]
    att = [
        {
            "person_id": f"x{i:05d}",
            "activity": a,
            "date": dt.date(2027, 2, 1) + dt.timedelta(days=j),
            "hours": Decimal("1.5"),
            "confirmed_by": "Priya",
        }
        for i in range(n_people)
        for j, a in enumerate(ACTIVITIES)
    ]
    claims = [
        {
            "claim_id": f"C{i}",
            "person_id": f"x{i:05d}",
            "kind": "mileage",
            "date": dt.date(2027, 2, 3),
            "miles": Decimal("12.3"),
        }
        for i in range(n_people)
    ]
    staff.write({
        "people": make_frame(staff.tab("people"), people),
        "attendance": make_frame(staff.tab("attendance"), att),
        "expense_claims": make_frame(staff.tab("expense_claims"), claims),
    })  # fmt: skip
    return ctx


def main() -> None:
    sizes = [25, 250, 1000]
    print(
        f"{'people':>7} {'lines':>6} {'transform s':>12} {'job s':>8} "
        f"{'job ms/line':>12} {'vs baseline':>12} {'reads':>6} {'writes':>7} {'rerun s':>8}"
    )
    base = None
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            ctx = build(n, Path(d))
            staff = ctx.stores.staff
            frames = staff.read(["people", "attendance", "expense_claims", "raw_scores",
                                 "rewards_ledger"])  # fmt: skip
            t0 = time.perf_counter()
            acc = R.accrue(ctx.settings.org.rewards, ctx.campaign.id, people=frames["people"],
                           attendance=frames["attendance"], claims=frames["expense_claims"],
                           raw_scores=frames["raw_scores"], ledger=frames["rewards_ledger"],
                           shortlisting_date=dt.date(2027, 1, 22))  # fmt: skip
            t_transform = time.perf_counter() - t0
            calls = {"r": 0, "w": 0}
            real_r, real_w = LocalStore._read_grids, LocalStore._write_grids

            def r(s: Any, *a: Any, real_r: Any = real_r, calls: Any = calls) -> Any:
                calls["r"] += 1
                return real_r(s, *a)

            def w(s: Any, *a: Any, real_w: Any = real_w, calls: Any = calls) -> Any:
                calls["w"] += 1
                return real_w(s, *a)

            LocalStore._read_grids = r  # type: ignore[method-assign]
            LocalStore._write_grids = w  # type: ignore[method-assign]
            try:
                staff.forget()
                t0 = time.perf_counter()
                accrue_job(ctx)
                t_job = time.perf_counter() - t0
                reads, writes = calls["r"], calls["w"]
                t0 = time.perf_counter()
                accrue_job(ctx)
                t_rerun = time.perf_counter() - t0
            finally:
                LocalStore._read_grids = real_r  # type: ignore[method-assign]
                LocalStore._write_grids = real_w  # type: ignore[method-assign]
            lines = len(acc.added)
            per = t_job / lines * 1000
            base = base or per
            print(
                f"{n:>7} {lines:>6} {t_transform:>12.3f} {t_job:>8.2f} {per:>12.3f} "
                f"{per / base:>11.2f}x {reads:>6} {writes:>7} {t_rerun:>8.2f}"
            )


if __name__ == "__main__":
    main()
