"""What one save of a local workbook costs: openpyxl (load it all, write it all) against
the fast path (only the changed tab rewritten in the zip, automations/store/xlsx_write).

On a campaign a run has filled (bench/run_scale.py calls it before it deletes its
workspace), each case is a child process that reads a copy of the workbook, changes one
cell (or adds one row) and saves: CPU and wall of the save alone, and the child's peak
RSS.

    python bench/xlsx_save.py CONFIG                       # prints a markdown table
    python bench/xlsx_save.py one CONFIG BOOK TAB HOW PATH  # one case, prints JSON

``HOW`` is ``openpyxl`` or ``fast``; ``TAB`` ``run_log`` (a row added, as every run
does) or another tab id (its last row's first text cell changed, the whole tab written).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from automations.store import LocalStore

ROOT = Path(__file__).resolve().parent.parent

# (workbook, tab): what every run saves, and the biggest tab of each workbook
CASES = [("staff", "run_log"), ("staff", "raw_scores"), ("panel", "applications")]


def _store(config: str, book: str) -> LocalStore:
    from automations.config import load_settings
    from automations.context import make_context

    got = getattr(make_context(load_settings(Path(config))).stores, book)
    assert isinstance(got, LocalStore)
    return got


def one(config: str, book: str, tab: str, how: str, path: str) -> dict[str, float]:
    import pandas as pd

    kept = _store(config, book)
    store = LocalStore(kept.spec, path, kept.header_map)
    store.fast_saves = how == "fast"
    df = store.read_one(tab)
    spec = store.tab(tab)
    text = next(c.id for c in spec.columns if c.type == "text" and c.id in df.columns)
    if tab == "run_log":
        extra = df.tail(1).copy()
        extra[text] = "bench"
        df = pd.concat([df, extra], ignore_index=True)
    else:
        df.iloc[-1, df.columns.get_loc(text)] = "bench " + str(df.iloc[-1][text])
    c0, w0 = time.process_time(), time.perf_counter()
    rows = store.write({tab: df})
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cpu": cpu, "wall": wall, "rss_mb": rss, "rows": rows}


def table(config: str) -> str:
    import shutil
    import tempfile

    out = [
        "| workbook | tab saved | rows | openpyxl CPU s | fast CPU s | × faster "
        "| openpyxl peak MB | fast peak MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    env = os.environ | {"PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    for book, tab in CASES:
        got = {}
        for how in ("openpyxl", "fast"):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{book}.xlsx"
                shutil.copy(_store(config, book).path, path)
                p = subprocess.run(
                    [sys.executable, __file__, "one", config, book, tab, how, str(path)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                got[how] = json.loads(p.stdout.strip().splitlines()[-1])
        slow, fast = got["openpyxl"], got["fast"]
        out.append(
            f"| {book} | {tab} | {int(fast['rows'])} | {slow['cpu']:.2f} | {fast['cpu']:.2f} | "
            f"{slow['cpu'] / max(fast['cpu'], 1e-3):.0f} | {slow['rss_mb']:.0f} | "
            f"{fast['rss_mb']:.0f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1] == "one":
        print(json.dumps(one(*sys.argv[2:7])))
    else:
        print(table(sys.argv[1]))
