"""Which kinds of request corecruit sends to Google are covered by a recording of real
Google traffic, and which only by Google's own schema (the discovery documents).

Runs corecruit's whole Google path once on the emulator (workbooks, sharing, forms made,
answered, collected and changed, one Gmail message), captures every request, checks each
against the discovery documents (method, parameters, body fields, enum values,
deprecated fields) and compares the kinds with those in gspread's recordings.

    python bench/google_request_kinds.py
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.context import make_context  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402
from tests.google_emulator.fixtures import start_for_bench  # noqa: E402
from tests.google_emulator.replay import load, recordings_folder, support  # noqa: E402
from tests.google_emulator.schema import problems  # noqa: E402
from tests.test_google_requests import corecruit_google_path  # noqa: E402


def kinds_of(name: str, body: bytes) -> list[str]:
    """The request kind, and for a batchUpdate each kind of request inside it."""
    out = [name]
    if name.endswith("batchUpdate") and body:
        prefix = "batchUpdate." if name.startswith("sheets.") else "forms.batchUpdate."
        for r in json.loads(body).get("requests") or []:
            out += [prefix + k for k in r]
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config"
        shutil.copytree(ROOT / "config", cfg)
        emu, settings, kw = start_for_bench(load_settings(cfg))
        extras = kw.pop("extras", {})
        emu.capture = True
        ctx = make_context(settings, clock=lambda: dt.datetime(2027, 1, 25, 9), **kw)
        ctx.extras.update(extras)  # type: ignore[arg-type]
        init_campaign(ctx, example=True)
        corecruit_google_path(ctx, emu, kw["transport"], cfg / "service-account.json")
        emu.stop()
    sent: dict[str, int] = {}
    bad: list[str] = []
    for name, query, body in emu.captured:
        if name.startswith("oauth2."):
            continue
        old: list[str] = []
        found = problems(name, query, json.loads(body) if body else None, deprecated=old)
        bad += [
            f"{name}: {p}" for p in (["not a method of Google's APIs"] if found is None else found)
        ]
        bad += [f"{name}: deprecated {p}" for p in old]
        for k in kinds_of(name, body):
            sent[k] = sent.get(k, 0) + 1
    recorded: set[str] = set()
    for p in sorted(recordings_folder().glob("*.json")):
        recorded |= support(load(p))[2]
    covered = sorted(k for k in sent if k in recorded)
    schema_only = sorted(k for k in sent if k not in recorded)
    print(
        f"Request kinds corecruit sends: {len(sent)} ({sum(sent.values())} requests). "
        f"Checked against the discovery documents: {len(sent)}, problems: {len(bad)}. "
        f"Also in a recording of real Google traffic: {len(covered)}; schema only: "
        f"{len(schema_only)}."
    )
    print()
    print("| request kind | requests in the run | covered by |")
    print("|---|---:|---|")
    for k in covered + schema_only:
        print(
            f"| `{k}` | {sent[k]} | {'recording and schema' if k in recorded else 'schema only'} |"
        )
    for b in bad:
        print("PROBLEM:", b)
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
