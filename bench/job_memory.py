"""Run the corecruit CLI printing each job's CPU s and peak RSS (VmHWM) to stderr, and
the same for a run's fixed costs: ``init`` at its start and the Status publish at its end.

What stays alive after a job is what the next job's peak stands on, so this also can:

- ``DROP=last,reads,openpyxl,gc,trim``: after each job, clear merge's kept keyings, the
  store's kept reads, its kept openpyxl workbooks, collect garbage, and give freed heap
  back to the system (glibc ``malloc_trim``): what each costs in CPU and saves in RSS.
- ``TRACE=N``: trace Python's allocations (tracemalloc, N frames; slow) and print, after
  each job, what is still allocated and by which lines (the top ``TOP``, default 8).

Usage: ``python bench/job_memory.py --config <workspace>/config run --once [jobs...]``
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import time
import tracemalloc
from typing import Any

import automations.runner as runner
from automations.cli import main, run_cmd
from automations.ledger import merge
from automations.store import local


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for ln in fh:
            if ln.startswith(("VmHWM", "VmRSS")):
                k, v = ln.split(":")
                out[k] = int(v.split()[0]) // 1024
    return out


DROP = os.environ.get("DROP", "none")
TRACE = int(os.environ.get("TRACE", "0"))
TOP = int(os.environ.get("TOP", "8"))
_run_job = runner.Runner.run_job


def _trim() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to give back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _traced(job: str) -> None:
    cur, peak = tracemalloc.get_traced_memory()
    print(f"  traced after {job}: {cur / 1e6:.0f} MB, peak {peak / 1e6:.0f}", file=sys.stderr)
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    for st in snap.statistics("traceback")[:TOP]:
        print(f"  {st.size / 1e6:7.1f} MB {st.count:8d} blocks", file=sys.stderr)
        for line in st.traceback.format():
            if "automations" in line and "line" in line:
                print(f"      {line.strip()}", file=sys.stderr)
    tracemalloc.reset_peak()


def run_job(self: runner.Runner, campaign_id: str, job: str) -> Any:
    c0 = time.process_time()
    try:
        return _run_job(self, campaign_id, job)
    finally:
        cpu = time.process_time() - c0
        st = _status()
        if "last" in DROP:
            merge._LAST.clear()
        if "reads" in DROP:
            local._READS.clear()
        if "openpyxl" in DROP:
            local._CACHE.clear()
        if "gc" in DROP:
            gc.collect()
        if "trim" in DROP:
            _trim()
        after = _status()["VmRSS"]
        print(
            f"JOB {job:16s} cpu {cpu:6.2f}  hwm {st['VmHWM']} "
            f"rss {st['VmRSS']} -> {after} (cpu with drops {time.process_time() - c0:6.2f})",
            file=sys.stderr,
            flush=True,
        )
        if TRACE:
            _traced(job)


def _phase(label: str, fn: Any) -> Any:
    """``fn`` printing its CPU s and the peak RSS after it (``init``, ``status``)."""

    def timed(*a: Any, **k: Any) -> Any:
        c0 = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            st = _status()
            print(
                f"PHASE {label:14s} cpu {time.process_time() - c0:6.2f}  hwm {st['VmHWM']}",
                file=sys.stderr,
                flush=True,
            )

    return timed


if __name__ == "__main__":
    if TRACE:
        tracemalloc.start(TRACE)
    runner.Runner.run_job = run_job  # type: ignore[method-assign]
    run_cmd._first_run = _phase("init", run_cmd._first_run)
    runner.publish = _phase("status", runner.publish)
    sys.argv = ["corecruit", *sys.argv[1:]]
    c0 = time.process_time()
    try:
        main()
    finally:
        st = _status()
        print(
            f"RUN cpu {time.process_time() - c0:6.2f}  hwm {st['VmHWM']} rss {st['VmRSS']}",
            file=sys.stderr,
            flush=True,
        )
