"""How closely the Google emulator answers as Google did: gspread's recorded traffic replayed.

Each recording in ``../shared/google-api-recordings/gspread-cassettes`` is a real
session with Google's Sheets and Drive APIs. Every request is sent to the emulator
and its answer compared with Google's (ids and timestamps mapped). Recordings that
use calls the emulator does not model are counted, with the reason.

    python bench/google_conformance.py [--record]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.google_emulator.replay import load, recordings_folder, replay, support  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    folder = recordings_folder()
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise SystemExit(f"no recordings in {folder}")
    counts: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    failed = []
    interactions = 0
    for p in paths:
        ok, reason, _ = support(load(p))
        if not ok:
            counts["not modelled"] += 1
            reasons[reason] += 1
            continue
        r = replay(p)
        counts[r.status] += 1
        interactions += r.interactions
        if r.status == "fail":
            failed.append(f"{p.stem}: {r.detail[:120]}")
    lines = [
        f"Recordings: {len(paths)}. Answered as Google did: {counts['pass']} "
        f"({interactions} requests). Different: {counts['fail']}. "
        f"Not modelled: {counts['not modelled']}.",
        "",
        "| not modelled because | recordings |",
        "|---|---:|",
        *(f"| {r} | {n} |" for r, n in reasons.most_common()),
    ]
    if failed:
        lines += ["", "Different:", *(f"- {f}" for f in failed)]
    out = "\n".join(lines)
    print(out)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as fh:
            fh.write(
                "\n## Google emulator conformance (gspread's recordings replayed)\n\n"
                f"`python bench/google_conformance.py`\n\n{out}\n"
            )


if __name__ == "__main__":
    main()
