"""Run the corecruit CLI printing each job's CPU s and peak RSS (VmHWM) to stderr, and
the same for a run's fixed costs: ``init`` at its start and the Status publish at its end.

``DROP=last,reads,openpyxl,gc`` also clears merge's kept keyings, the store's kept reads,
its kept openpyxl workbooks and collects garbage after each job: to measure whether that
lowers the peak (it does not).
Usage: ``python bench/job_memory.py --config <workspace>/config run --once``
"""

from __future__ import annotations

import gc
import os
import sys
import time
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
_run_job = runner.Runner.run_job


def run_job(self: runner.Runner, campaign_id: str, job: str) -> Any:
    c0 = time.process_time()
    try:
        return _run_job(self, campaign_id, job)
    finally:
        st = _status()
        if "last" in DROP:
            merge._LAST.clear()
        if "reads" in DROP:
            local._READS.clear()
        if "openpyxl" in DROP:
            local._CACHE.clear()
        if "gc" in DROP:
            gc.collect()
        after = _status()["VmRSS"]
        print(
            f"JOB {job:16s} cpu {time.process_time() - c0:6.2f}  hwm {st['VmHWM']} "
            f"rss {st['VmRSS']} -> {after}",
            file=sys.stderr,
            flush=True,
        )


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
    runner.Runner.run_job = run_job  # type: ignore[method-assign]
    run_cmd._first_run = _phase("init", run_cmd._first_run)
    runner.publish = _phase("status", runner.publish)
    sys.argv = ["corecruit", *sys.argv[1:]]
    main()
