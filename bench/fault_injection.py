"""Kill the runner (SIGKILL) at random points inside each job, run again, compare.

For each trial: start from the same initial workspace, run ``run --once`` of every
job in a child process, SIGKILL it after a random delay, then run everything again
to the end. The final workbooks must equal those of an uninterrupted run (columns a
job stamps with the time it ran are left out), no message may have been sent twice
and no ledger line may be doubled.

    python bench/fault_injection.py --trials 100 [--jobs redact,merge] [--seed 1]

Prints a table per job and a total; ``--record`` appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import email
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.context import make_context  # noqa: E402
from automations.runner import available_jobs  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402

NOW = dt.datetime(2027, 1, 25, 9, 0)

CHILD = textwrap.dedent("""
    import datetime as dt, sys
    sys.path.insert(0, {root!r})
    from automations.config import load_settings
    from automations.runner import Runner
    settings = load_settings({config!r})
    now = dt.datetime.fromisoformat({now!r})
    r = Runner(settings, clock=lambda: now)
    print("start", flush=True)
    recs = r.run_once({jobs!r})
    bad = [x for x in recs if x.outcome != "ok"]
    for x in bad:
        print("FAILED", x.job, x.detail, file=sys.stderr)
    sys.exit(1 if bad else 0)
""")


def prepare(folder: Path, extra_setup: str | None) -> Path:
    """A fresh config + workspace with the example campaign initialised."""
    cfg = folder / "config"
    shutil.copytree(ROOT / "config", cfg)
    settings = load_settings(cfg)
    ctx = make_context(settings, clock=lambda: NOW)
    init_campaign(ctx, example=True)
    if extra_setup:
        subprocess.run([sys.executable, extra_setup, str(cfg)], check=True)
    return cfg


def run_child(cfg: Path, jobs: list[str], kill_after: float | None) -> tuple[int, float]:
    code = CHILD.format(root=str(ROOT), config=str(cfg), now=NOW.isoformat(), jobs=jobs)
    t0 = time.monotonic()
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as p:
        assert p.stdout is not None
        p.stdout.readline()
        if kill_after is not None:
            try:
                p.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
        p.wait()
        err = p.stderr.read() if p.stderr else ""
    if kill_after is None and p.returncode != 0:
        raise SystemExit(f"an uninterrupted run failed:\n{err}")
    return p.returncode, time.monotonic() - t0


def snapshot(cfg: Path) -> dict[str, object]:
    """Workbook contents without run-time stamps, plus what was sent."""
    settings = load_settings(cfg)
    ctx = make_context(settings, clock=lambda: NOW)
    out: dict[str, object] = {}
    for store in (ctx.stores.staff, ctx.stores.panel):
        for tab_id, spec in store.spec.tabs.items():
            if tab_id == "run_log":
                continue
            df = store.read_one(tab_id, errors="collect").reset_index(drop=True)
            drop = [c.id for c in spec.columns if c.filled_by == "job" and c.type in ("datetime",)]
            drop += [c for c in df.columns if c not in spec.column_ids]
            out[f"{store.spec.name}/{tab_id}"] = df.drop(columns=drop).astype(str).values.tolist()
    outbox = settings.path(settings.org.mail.outbox)
    ids = collections.Counter()
    for p in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes())
        ids[(msg["To"] or "", msg["Subject"] or "")] += 1
    out["outbox"] = sorted(ids.items())
    return out


def diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--jobs", default="")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--setup", default=None, help="script run on the config folder after init")
    args = ap.parse_args()
    jobs = [j for j in args.jobs.split(",") if j] or available_jobs()
    rng = random.Random(args.seed)
    base_dir = Path(tempfile.mkdtemp(prefix="corecruit-fault-"))
    try:
        initial = prepare(base_dir / "initial", args.setup)
        baseline = base_dir / "baseline"
        shutil.copytree(initial.parent, baseline)
        times = {}
        for j in jobs:  # how long each job takes, to aim kills inside it
            _, times[j] = run_child(baseline / "config", [j], None)
        want = snapshot(baseline / "config")
        dup_sends = 0
        results: dict[str, collections.Counter] = {j: collections.Counter() for j in jobs}
        for t in range(args.trials):
            job = jobs[t % len(jobs)]
            trial = base_dir / f"t{t}"
            shutil.copytree(initial.parent, trial)
            before = [x for x in jobs[: jobs.index(job)]]
            if before:
                run_child(trial / "config", before, None)
            delay = rng.uniform(0.05, max(0.1, times[job] * 0.95))
            code, _ = run_child(trial / "config", [job], delay)
            killed = code == -signal.SIGKILL
            run_child(trial / "config", jobs, None)
            got = snapshot(trial / "config")
            bad = diff(want, got)
            want_counts = dict(want["outbox"])  # type: ignore[call-overload]
            if any(n > want_counts.get(k, 0) for k, n in got["outbox"]):  # type: ignore[attr-defined]
                dup_sends += 1
            results[job]["killed" if killed else "finished before kill"] += 1
            results[job]["equal" if not bad else "different"] += 1
            if bad:
                print(f"trial {t} ({job}, kill after {delay:.2f}s): differs in {bad}")
                (base_dir / f"diff-{t}.json").write_text(
                    json.dumps({k: [want.get(k), got.get(k)] for k in bad}, default=str, indent=1)[
                        :200000
                    ]
                )
            shutil.rmtree(trial)
        lines = [
            "| job | trials | killed inside the job | final state equal | different |",
            "|---|---:|---:|---:|---:|",
        ]
        tot = collections.Counter()
        for j in jobs:
            c = results[j]
            n = c["equal"] + c["different"]
            lines.append(f"| {j} | {n} | {c['killed']} | {c['equal']} | {c['different']} |")
            tot.update(c)
        lines.append(
            f"| **all** | {tot['equal'] + tot['different']} | {tot['killed']} | "
            f"{tot['equal']} | {tot['different']} |"
        )
        lines.append("")
        lines.append(
            f"Trials with a message sent twice: {dup_sends}. "
            f"Job times uninterrupted (s): " + ", ".join(f"{j} {times[j]:.2f}" for j in jobs)
        )
        table = "\n".join(lines)
        print(table)
        if args.record:
            cmd = "python bench/fault_injection.py " + " ".join(sys.argv[1:])
            with (ROOT / "bench" / "RESULTS.md").open("a") as fh:
                fh.write(
                    f"\n## Fault injection (SIGKILL inside jobs, then run again)\n\n"
                    f"`{cmd.replace(' --record', '')}`\n\n{table}\n"
                )
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
