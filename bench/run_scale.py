"""``corecruit run --once`` as cron runs it, at 500 and 5,000 applications, against a floor.

For each size, on a fresh workspace (the example campaign, two panels of four, N
invented applications from bench/synth.py; dates moved so that today is the Monday
after the shortlisting deadline):

1. ``first``: ``corecruit run --once`` (one process, every job): redact, push forms...
2. every shortlister's form is filled in (not measured), then ``forms in``: the run
   that brings the scores in, merges, accrues rewards...
3. ``once more``: the same command again: the jobs that wrote in step 2 (or whose inputs a
   later job wrote) run once more; the others find nothing new and are skipped.
4. ``nothing new``: the same command again with nothing changed. Writes are counted as
   workspace files whose inode, time or size changed.
5. ``reference``: the same workbooks read with python-calamine and written once to
   SQLite (one transaction), the least any run over this data could cost.
5. one save of the filled workbooks, through openpyxl and through the fast path that
   rewrites only the changed tab (bench/xlsx_save.py; ``--no-saves`` leaves it out).

Wall time, CPU (user + system) and peak memory (max RSS) are the child's own, from
``os.wait4``. Ratios are against the reference measured in the same run.

    python bench/run_scale.py [--sizes 500,5000] [--record] [--no-saves]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CORECRUIT = Path(sys.executable).with_name("corecruit")
# The bench's day in the example campaign's calendar (as the in-process benches use).
CAMPAIGN_DAY = dt.date(2027, 1, 25)
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def shift_dates(toml: Path, days: int) -> None:
    """Move every date in the campaign file by ``days`` (so today is CAMPAIGN_DAY)."""

    def move(m: re.Match[str]) -> str:
        d = dt.date(int(m[1]), int(m[2]), int(m[3])) + dt.timedelta(days=days)
        return d.isoformat()

    toml.write_text(_DATE.sub(move, toml.read_text()))


def timed(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run one child; its own wall time, CPU seconds and peak RSS (MB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    out = (p.stdout.read() if p.stdout else b"").decode()
    err = (p.stderr.read() if p.stderr else b"").decode()
    if p.returncode != 0:
        what = " ".join(args[:4])
        raise RuntimeError(f"{what}... failed ({p.returncode}):\n{out}\n{err[-3000:]}")
    failed = [ln for ln in out.splitlines() if ln.startswith("✗")]
    if failed:
        raise RuntimeError("a job failed:\n" + "\n".join(failed))
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024,
        "out": out,  # type: ignore[dict-item]
    }


def stamps(folder: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def measure(size: int, saves: bool = True) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix=f"corecruit-scale-{size}-"))
    try:
        cfg = tmp / "config"
        shutil.copytree(ROOT / "config", cfg)
        shift_dates(cfg / "campaigns" / "example.toml", (dt.date.today() - CAMPAIGN_DAY).days)
        env = os.environ | {"PYTHONWARNINGS": "ignore", "PYTHONPATH": f"{ROOT}:{BENCH}"}
        child = [sys.executable, str(BENCH / "run_scale_child.py")]
        subprocess.run([*child, "setup", str(cfg), str(size)], check=True, env=env)
        run = [str(CORECRUIT), "--config", str(cfg), "run", "--once"]
        got: dict[str, object] = {"size": size}
        got["first"] = timed(run, env)
        filled = subprocess.run(
            [*child, "fill", str(cfg)], check=True, env=env, capture_output=True, text=True
        )
        got["filled"] = int(filled.stdout.strip().splitlines()[-1])
        got["forms in"] = timed(run, env)
        ws = tmp / "workspace"
        # the jobs that wrote (and those whose inputs a later job wrote) run once more
        got["once more"] = timed(run, env)
        before = stamps(ws)
        got["nothing new"] = timed(run, env)
        after = stamps(ws)
        quiet = str(got["nothing new"]["out"]).splitlines()
        got["skipped"] = [ln.split(":")[0].split()[-1] for ln in quiet if "nothing new since" in ln]
        changed = sorted(k for k in after if before.get(k) != after[k] and not k.endswith(".lock"))
        got["writes"] = [k for k in changed if k.endswith(".xlsx")]
        got["other_files"] = [k for k in changed if not k.endswith(".xlsx")]
        campaign = next(p for p in ws.iterdir() if (p / "staff.xlsx").exists())
        got["reference"] = timed(
            [sys.executable, str(BENCH / "run_scale_reference.py"), str(campaign)], env
        )
        xlsx = sum(p.stat().st_size for p in ws.rglob("*.xlsx"))
        got["xlsx_mb"] = xlsx / 1e6
        if saves:
            got["saves"] = subprocess.run(
                [sys.executable, str(BENCH / "xlsx_save.py"), str(cfg)],
                check=True,
                env=env,
                capture_output=True,
                text=True,
            ).stdout
        return got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(results: list[dict[str, object]]) -> str:
    out = [
        "| applications | run | wall s | CPU s | peak MB | CPU × reference | wall × reference |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for r in results:
        ref = r["reference"]
        assert isinstance(ref, dict)
        for name in ("first", "forms in", "once more", "nothing new", "reference"):
            m = r[name]
            assert isinstance(m, dict)
            out.append(
                f"| {r['size']} | {name} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['rss_mb']:.0f} | "
                f"{m['cpu'] / ref['cpu']:.1f} | {m['wall'] / ref['wall']:.1f} |"
            )
        writes = r["writes"]
        assert isinstance(writes, list)
        other = r["other_files"]
        assert isinstance(other, list)
        notes.append(
            f"{r['size']}: {r['filled']} forms filled between the runs; workbooks "
            f"{float(r['xlsx_mb']):.1f} MB; workbooks saved by the nothing-new run: "
            + (", ".join(writes) if writes else "none")
            + "; other files it wrote: "
            + (", ".join(other) if other else "none")
            + "; jobs it skipped (nothing new): "
            + (", ".join(r.get("skipped", [])) or "none")  # type: ignore[attr-defined]
        )
    text = "\n".join(out) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    for r in results:
        if r.get("saves"):
            text += (
                f"\nOne save of the filled workbooks, {r['size']} applications "
                f"(bench/xlsx_save.py; CPU of the save alone, peak RSS of the process):\n\n"
                f"{r['saves']}"
            )
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500,5000")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--no-saves", action="store_true")
    args = ap.parse_args()
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        results.append(measure(n, saves=not args.no_saves))
        print(table(results[-1:]), flush=True)
    text = table(results)
    print(text)
    if args.record:
        cmd = "python bench/run_scale.py " + " ".join(a for a in sys.argv[1:] if a != "--record")
        with (BENCH / "RESULTS.md").open("a") as fh:
            fh.write(f"\n## run --once as cron runs it, by size (issue 17)\n\n`{cmd}`\n\n{text}")


if __name__ == "__main__":
    main()
