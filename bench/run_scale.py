"""A full ``run --once`` of every job at 50, 500 and 5,000 applications.

Each size runs in a fresh child process (so peak memory is that run's own) on a
fresh workspace: the example campaign with two panels of four and N invented
applications (bench/synth.py). Between pushing and collecting forms every
shortlister's form is filled in, so merge and rewards have real work. On the
Google path the child starts the emulator and counts the API calls it answers.

    python bench/run_scale.py [--sizes 50,500,5000] [--backend local,google] [--record]

Prints wall time per job, peak memory (max RSS) and API calls, and the growth
of each against the smallest size measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import datetime as dt, json, resource, sys, time
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {bench!r})
    from run_scale_child import run
    print(json.dumps(run({config!r}, {size!r}, {backend!r})))
    """
)


def measure(size: int, backend: str) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix=f"corecruit-scale-{size}-"))
    try:
        cfg = tmp / "config"
        shutil.copytree(ROOT / "config", cfg)
        code = CHILD.format(
            root=str(ROOT), bench=str(ROOT / "bench"), config=str(cfg), size=size, backend=backend
        )
        p = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=os.environ | {"PYTHONWARNINGS": "ignore"},
        )
        if p.returncode != 0:
            last = [x for x in p.stderr.strip().splitlines() if x.strip()][-1:] or ["?"]
            print(f"the {backend} run at {size} failed:\n{p.stderr[-3000:]}", file=sys.stderr)
            return {"size": size, "failed": last[0][:300]}
        return dict(json.loads(p.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,500,5000")
    ap.add_argument("--backend", default="local,google")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    out = []
    for backend in args.backend.split(","):
        measured = [measure(n, backend) for n in sizes]
        rows = [r for r in measured if "failed" not in r]
        failed = [r for r in measured if "failed" in r]
        if not rows:
            out.append(f"### {backend} backend\n\nEvery size failed: {failed}\n")
            continue
        base = rows[0]
        jobs = list(base["jobs"])  # type: ignore[arg-type]
        out.append(f"### {backend} backend\n")
        out.append(
            "| applications | "
            + " | ".join(f"{j} (s)" for j in jobs)
            + " | all jobs (s) | peak memory (MB) | API calls | time × | memory × | calls × |"
        )
        out.append("|---:|" + "---:|" * (len(jobs) + 6))
        for r in rows:
            t = r["jobs"]
            total = float(r["total_seconds"])  # type: ignore[arg-type]
            out.append(
                f"| {r['size']} | "
                + " | ".join(f"{t[j]:.2f}" for j in jobs)  # type: ignore[index]
                + f" | {total:.2f} | {float(r['peak_mb']):.0f} | {r['api_calls']} | "  # type: ignore[arg-type]
                f"{total / float(base['total_seconds']):.1f} | "  # type: ignore[arg-type]
                f"{float(r['peak_mb']) / float(base['peak_mb']):.1f} | "  # type: ignore[arg-type]
                + (
                    f"{int(r['api_calls']) / int(base['api_calls']):.2f} |"  # type: ignore[call-overload]
                    if int(base["api_calls"])  # type: ignore[call-overload]
                    else "- |"
                )
            )
        out.append("")
        extra = {r["size"]: r.get("notes", "") for r in rows}
        out.append("What each run did: " + "; ".join(f"{k}: {v}" for k, v in extra.items()))
        for r in failed:
            out.append(f"\nAt {r['size']} applications the run did not finish: {r['failed']}")
        out.append("")
        print("\n".join(out[-6:]), flush=True)
    table = "\n".join(out)
    print(table)
    if args.record:
        cmd = "python bench/run_scale.py " + " ".join(a for a in sys.argv[1:] if a != "--record")
        with (ROOT / "bench" / "RESULTS.md").open("a") as fh:
            fh.write(f"\n## Whole campaign, run --once, by size\n\n`{cmd}`\n\n{table}\n")


if __name__ == "__main__":
    main()
