"""Collecting score forms at scale: workbook calls stay flat, time per score stays flat.

Builds the example campaign on the local store with N shortlisters (6 anonymised
candidates, 4 criteria: 24 scores a form), pushes their forms, puts one submitted
form per person in the local inbox, and runs ``forms collect``. Prints, for each N:
scores written, workbook (backend) reads and writes, seconds, milliseconds per
score as a ratio against the smallest N in the same run, and the same for a rerun
(which must add nothing).

    /work/venv/bin/python bench/forms_collect.py
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
from automations.context import make_context  # noqa: E402
from automations.forms.base import get_provider  # noqa: E402
from automations.jobs.forms import collect_job, current_specs, push_job  # noqa: E402
from automations.store import make_frame  # noqa: E402
from automations.store.local import LocalStore  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402

CALLS = {"read": 0, "write": 0}


def counted(kind: str, fn):  # type: ignore[no-untyped-def]
    def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
        CALLS[kind] += 1
        return fn(*a, **kw)

    return wrapper


LocalStore._read_grids = counted("read", LocalStore._read_grids)  # type: ignore[method-assign]
LocalStore._write_grids = counted("write", LocalStore._write_grids)  # type: ignore[method-assign]


def one(n: int) -> list[tuple[int, int, int, float]]:
    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(ROOT / "config", tmp / "config")
        settings = load_settings(tmp / "config")
        when = dt.datetime(2027, 1, 25, 9)
        ctx = make_context(settings, clock=lambda: when)
        init_campaign(ctx)
        st, panel = ctx.stores.staff, ctx.stores.panel
        st.append(
            "people",
            make_frame(
                st.tab("people"),
                [
                    {
                        "person_id": f"p{i:04d}",
                        "name": f"Person {i}",
                        "kind": "lived experience",
                        "role": "panel member",
                        "panel": "lived experience",
                        "shortlists": True,
                    }
                    for i in range(n)
                ],
            ),
        )
        letters = "ABCDEF"
        st.append(
            "candidate_key",
            make_frame(
                st.tab("candidate_key"),
                [
                    {"application_id": f"{i:04d}", "candidate_letter": x}
                    for i, x in enumerate(letters)
                ],
            ),
        )
        panel.append(
            "applications",
            make_frame(
                panel.tab("applications"),
                [
                    {"candidate_letter": x, **{f"answer_{k}": "An answer." for k in range(1, 5)}}
                    for x in letters
                ],
            ),
        )
        push_job(ctx, send=False)
        frames = st.read(["people", "applications", "candidate_key", "timetable", "form_links"])
        inbox = get_provider(ctx).inbox  # type: ignore[attr-defined]
        at = dt.datetime(2027, 1, 25, 8, tzinfo=dt.UTC)
        for spec in current_specs(ctx, frames):
            answers = {
                i.item_id: ("3" if i.item_id.startswith("score") else "") for i in spec.items()
            }
            inbox.submit(
                form_key=spec.key,
                person_id=spec.person_id,
                token_id="t",
                answers=answers,
                nonce=spec.key,
                now=at,
            )
        out = []
        for _ in range(2):  # the collect, then a rerun that must add nothing
            ctx = make_context(settings, clock=lambda: when)
            CALLS.update(read=0, write=0)
            t0 = time.perf_counter()
            res = collect_job(ctx)
            out.append((res.rows_written, CALLS["read"], CALLS["write"], time.perf_counter() - t0))
        return out
    finally:
        shutil.rmtree(tmp)


def main() -> None:
    print(
        "| shortlisters | scores written | reads | writes | seconds | ms/score | vs baseline "
        "| rerun: written | reads | writes | seconds |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = None
    for n in (10, 50, 200):
        (w, r, wr, s), (w2, r2, wr2, s2) = one(n)
        per = s / w * 1000
        base = base or per
        print(
            f"| {n} | {w} | {r} | {wr} | {s:.2f} | {per:.2f} | {per / base:.2f}x "
            f"| {w2} | {r2} | {wr2} | {s2:.2f} |"
        )


if __name__ == "__main__":
    main()
