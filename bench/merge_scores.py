"""Merge time and memory at 10/100/1000 candidates and two panel sizes, against a naive merge.

    /work/venv/bin/python bench/merge_scores.py [--record]

For each size, shortlisting scores (4 criteria on 0-4, every member scores every
candidate, plus 5% corrections) are merged by :func:`automations.transforms.merge.merge_scores`
(all flags, the reviewer view and exact arithmetic) and by a naive baseline in the same
run: for every candidate and every member, filter the whole table with pandas masks,
take the latest row per criterion and average (the core equal-weight sum only). Both
must agree on every overall score. Memory is tracemalloc's peak during the merge.
With ``--job`` (default on) the whole job on the local store is timed at each size too,
with the backend calls it made.

``--record`` appends the table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.context import make_context  # noqa: E402
from automations.jobs.merge import merge_job  # noqa: E402
from automations.store import make_frame  # noqa: E402
from automations.templates import load_workbook_spec  # noqa: E402
from automations.transforms import merge as M  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402

CRIT = ["c1", "c2", "c3", "c4"]
T0 = dt.datetime(2027, 1, 20, 10, 0)
SPEC = load_workbook_spec("staff").expand(4)


def letters(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, k = "", i
        while True:
            s = chr(65 + k % 26) + s
            k = k // 26 - 1
            if k < 0:
                break
        out.append(s)
    return out


def make_data(n_cand: int, council: int, lived: int, seed: int = 1) -> tuple[Any, Any, list]:
    rnd = random.Random(seed)
    ppl = [
        {
            "person_id": f"c{i:02d}",
            "name": "x",
            "kind": "council",
            "role": "panel member",
            "panel": "council",
            "shortlists": True,
            "interviews": True,
        }
        for i in range(council)
    ] + [
        {
            "person_id": f"l{i:02d}",
            "name": "x",
            "kind": "lived experience",
            "role": "panel member",
            "panel": "lived experience",
            "shortlists": True,
            "interviews": True,
        }
        for i in range(lived)
    ]
    rows = []
    for p in ppl:
        for lt in letters(n_cand):
            for q in CRIT:
                rows.append(
                    {
                        "response_id": f"{p['person_id']}-{lt}",
                        "person_id": p["person_id"],
                        "stage": "shortlisting",
                        "candidate_letter": lt,
                        "question_id": q,
                        "score": Decimal(rnd.randint(0, 4)),
                        "submitted_at": T0,
                    }
                )
                if rnd.random() < 0.05:  # a correction, later
                    rows.append(
                        {
                            **rows[-1],
                            "response_id": rows[-1]["response_id"] + "-fix",
                            "score": Decimal(rnd.randint(0, 4)),
                            "submitted_at": T0 + dt.timedelta(hours=1),
                        }
                    )
    raw = make_frame(SPEC.tab("raw_scores"), rows)
    raw.index = pd.Index(range(2, len(raw) + 2), name="row")
    people = make_frame(SPEC.tab("people"), ppl)
    people.index = pd.Index(range(2, len(people) + 2), name="row")
    return raw, people, rows


def naive(raw: pd.DataFrame, people: pd.DataFrame) -> dict[str, Fraction | None]:
    """The obvious merge: mask the whole table for each candidate and each member."""
    out: dict[str, Fraction | None] = {}
    panel_of = dict(zip(people["person_id"], people["panel"], strict=True))
    for lt in sorted(set(raw["candidate_letter"])):
        panel_scores = []
        for panel in ("council", "lived experience"):
            member_avgs = []
            for pid in [p for p, pp in panel_of.items() if pp == panel]:
                mine = raw[(raw["candidate_letter"] == lt) & (raw["person_id"] == pid)]
                if mine.empty:
                    continue
                vals = []
                for q in CRIT:
                    rows = mine[mine["question_id"] == q]
                    if rows.empty:
                        continue
                    latest = rows.assign(_r=rows.index).sort_values(["submitted_at", "_r"]).iloc[-1]
                    vals.append(Fraction(latest["score"]) * 25)
                if vals:
                    member_avgs.append(sum(vals, Fraction(0)) / len(vals))
            panel_scores.append(
                sum(member_avgs, Fraction(0)) / len(member_avgs) if member_avgs else None
            )
        out[lt] = None if None in panel_scores else sum(panel_scores) / 2  # type: ignore[arg-type]
    return out


def timed(fn, *a, **k):  # type: ignore[no-untyped-def]
    """(result, seconds, peak MB): timed without tracemalloc, memory in a second run."""
    t = time.perf_counter()
    res = fn(*a, **k)
    secs = time.perf_counter() - t
    tracemalloc.start()
    fn(*a, **k)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return res, secs, peak / 1e6


def job_run(n_cand: int, council: int, lived: int, rows: list) -> tuple[float, int, int]:
    tmp = Path(tempfile.mkdtemp(prefix="merge-bench-"))
    try:
        shutil.copytree(ROOT / "config", tmp / "config")
        ctx = make_context(load_settings(tmp / "config"), clock=lambda: T0)
        init_campaign(ctx)
        staff = ctx.stores.staff
        ppl = make_data(1, council, lived)[1]
        staff.write({"people": ppl, "raw_scores": make_frame(staff.tab("raw_scores"), rows)})
        calls = {"r": 0, "w": 0}
        for store in (ctx.stores.staff, ctx.stores.panel):
            for prim, key in (("_read_grids", "r"), ("_write_grids", "w")):
                orig = getattr(store, prim)

                def wrapped(*a, _o=orig, _k=key, **k):  # type: ignore[no-untyped-def]
                    calls[_k] += 1
                    return _o(*a, **k)

                setattr(store, prim, wrapped)
        staff.forget()
        t = time.perf_counter()
        merge_job(ctx)
        return time.perf_counter() - t, calls["r"], calls["w"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--no-job", action="store_true")
    args = ap.parse_args()
    camp = load_settings(ROOT / "config").campaign(None)
    lines = [
        "| candidates | panels (Council + LE) | rows | merge s | peak MB | naive s | naive / merge "
        "| job s | reads | writes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (10, 100, 1000):
        for council, lived in ((2, 4), (4, 8)):
            raw, people, rows = make_data(n, council, lived)
            out, secs, peak = timed(M.merge_scores, raw, people, camp)
            if len(raw) > 30_000:  # the naive merge would take minutes here
                nsecs = float("nan")
            else:
                t = time.perf_counter()
                base = naive(raw, people)
                nsecs = time.perf_counter() - t
                ours = {r.letter: r.overall for r in out.stage("shortlisting")}
                assert ours == base, "the naive baseline disagrees with the merge"
            js, reads, writes = (
                (float("nan"), 0, 0) if args.no_job else job_run(n, council, lived, rows)
            )
            lines.append(
                f"| {n} | {council} + {lived} | {len(raw)} | {secs:.3f} | {peak:.1f} | "
                + (f"{nsecs:.3f} | {nsecs / secs:.1f}x" if nsecs == nsecs else "– | –")
                + f" | {js:.2f} | {reads} | {writes} |"
            )
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(
                "\n## Merge scores\n\n"
                "`/work/venv/bin/python bench/merge_scores.py --record` (shortlisting, 4 criteria, "
                "every member scores every candidate, 5% corrections; naive = mask the table "
                "per candidate and member, same run, same answers checked):\n\n" + table + "\n"
            )


if __name__ == "__main__":
    main()
