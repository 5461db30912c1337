"""Load on the local form server: many panel members sending score forms at once.

Starts the real form server (Flask under waitress, 8 threads) on loopback with 50
panel members' shortlisting forms (6 candidates x 4 criteria, question by question:
4 pages of 6 scores and 6 note boxes). Each member then fills in and sends their
form 8 times (a first send and corrections), all 50 members at once: 400 forms,
2,800 HTTP requests. One send in ten is pressed twice (the same page posted again).

Then a burst: 400 members (``--burst``), each with answers saved and the check page
open, all press Send at the same moment, and every one double-clicks (the same send
posted twice at once): 800 posts for 400 forms.

Checks every send against the append-only inbox: lost (sent, not stored),
duplicated (stored twice), and wrong (stored with other answers or under another
person). Reports send latency percentiles and forms per second, against a
baseline of one member sending the same number of forms one after another, in the
same run. The hourly bound on sends per form is lifted here (the baseline sends one
form 400 times); bench/attacks.py checks the bound.

    .venv/bin/python bench/forms_load.py [--members 50] [--forms-each 8] [--burst 400]

``--cpu N`` (issue 17) instead compares CPU per submission: the real server and a
minimal Flask + SQLite server (the same URLs, a draft per page, a nonce on the check
page, one row per send; waitress with 8 threads for both) each run in their own
process; this process sends the same N forms to each, one after another, and reads
each server's CPU time (all its threads, /proc/<pid>/task/*/schedstat) before and
after. Both servers run side by side and take turns of ``--block`` forms (5), so
load from other programs on a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.forms.base import FormSpec, ScaleItem  # noqa: E402
from automations.forms.inbox import Inbox  # noqa: E402
from automations.forms.local import (  # noqa: E402
    AppInfo,
    LocalFormsProvider,
    create_app,
    start_server_thread,
)
from automations.forms.tokens import LinkSigner  # noqa: E402
from automations.transforms.forms import Candidate, shortlisting_spec  # noqa: E402


def setup(folder: Path, members: int) -> tuple[LocalFormsProvider, list[tuple[FormSpec, str]]]:
    camp = load_settings(ROOT / "config").campaign(None)
    cands = [
        Candidate(x, {c.id: f"Answer of candidate {x} to {c.id}. " * 8 for c in camp.criteria})
        for x in "ABCDEF"
    ]
    specs = [shortlisting_spec(camp, f"p{i:03d}", cands) for i in range(1, members + 1)]
    prov = LocalFormsProvider(Inbox(folder / "inbox.sqlite3"), LinkSigner("b" * 32), "http://x")
    handles = prov.ensure_forms(specs)
    return prov, [(s, re.sub(r"^http://x", "", handles[s.key].url)) for s in specs]


def send_form(
    base: str, spec: FormSpec, path: str, marker: str, rng: random.Random, twice: bool
) -> tuple[float, dict[str, str], str]:
    """Fill every page, check, send. Returns (send latency, answers sent, response id)."""
    s = requests.Session()
    sent: dict[str, str] = {}
    for n, sec in enumerate(spec.sections, 1):
        data = {"nav": "next"}
        for item in sec.items:
            if isinstance(item, ScaleItem):
                data[item.item_id] = str(rng.randint(item.min, item.max))
            else:
                data[item.item_id] = f"{marker} note {item.item_id}"
        sent.update({k: v for k, v in data.items() if k != "nav"})
        r = s.post(f"{base}{path}/{n}", data=data, allow_redirects=False, timeout=60)
        assert r.status_code == 303, r.status_code
    page = s.get(f"{base}{path}/check", timeout=60).text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    assert nonce
    t0 = time.perf_counter()
    r = s.post(
        f"{base}{path}/send", data={"nonce": nonce.group(1)}, allow_redirects=False, timeout=60
    )
    latency = time.perf_counter() - t0
    assert r.status_code == 303
    rid = r.headers["Location"].rsplit("/", 1)[1]
    if twice:  # the same page posted again: must not store a second copy
        r2 = s.post(
            f"{base}{path}/send", data={"nonce": nonce.group(1)}, allow_redirects=False, timeout=60
        )
        assert r2.headers["Location"].rsplit("/", 1)[1] == rid
    return latency, sent, rid


def run(members: int, forms_each: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        prov, forms = setup(Path(tmp), members)
        app = create_app(prov.inbox, prov.signer, info=AppInfo(), sends_per_hour=10**6)
        server = start_server_thread(app, threads=8)
        expected: dict[str, tuple[str, dict[str, str]]] = {}

        def member(i: int) -> list[float]:
            spec, path = forms[i % len(forms)]
            rng = random.Random(i)
            out = []
            for j in range(forms_each):
                marker = f"m{i}-f{j}"
                lat, sent, rid = send_form(server.url, spec, path, marker, rng, twice=j % 10 == 3)
                expected[marker] = (rid, sent)
                out.append(lat)
            return out

        t0 = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                lats = [x for lst in pool.map(member, range(members)) for x in lst]
        finally:
            server.stop()
        wall = time.perf_counter() - t0
        stored = prov.inbox.responses()
        by_rid = {r.response_id: r for r in stored}
        lost = sum(1 for rid, _ in expected.values() if rid not in by_rid)
        dup = len(stored) - len(by_rid) + max(0, len(stored) - len(expected))
        wrong = 0
        for marker, (rid, sent) in expected.items():
            r = by_rid.get(rid)
            member_ix = int(marker[1:].split("-")[0])
            spec = forms[member_ix % len(forms)][0]
            if r is not None and (dict(r.answers) != sent or r.person_id != spec.person_id):
                wrong += 1
        q = statistics.quantiles(lats, n=100, method="inclusive")
        return {
            "forms": len(expected),
            "stored": len(stored),
            "lost": lost,
            "duplicated": dup,
            "wrong": wrong,
            "p50_ms": q[49] * 1000,
            "p95_ms": q[94] * 1000,
            "p99_ms": q[98] * 1000,
            "max_ms": max(lats) * 1000,
            "wall_s": wall,
            "forms_per_s": len(expected) / wall,
        }


def burst(members: int) -> dict[str, float]:
    """``members`` people press Send at the same moment, each double-clicking."""
    with tempfile.TemporaryDirectory() as tmp:
        prov, forms = setup(Path(tmp), members)
        now = prov.now()
        sent: list[dict[str, str]] = []
        for i, (spec, _path) in enumerate(forms):
            rng = random.Random(i)
            answers = {
                it.item_id: str(rng.randint(it.min, it.max))
                if isinstance(it, ScaleItem)
                else f"m{i} note {it.item_id}"
                for it in spec.items()
            }
            prov.inbox.merge_draft(spec.key, answers, now)
            sent.append(answers)
        app = create_app(prov.inbox, prov.signer, info=AppInfo())
        server = start_server_thread(app, threads=8)
        nonces = []
        for _spec, path in forms:  # each person's check page is open
            page = requests.get(f"{server.url}{path}/check", timeout=60).text
            m = re.search(r'name="nonce" value="([^"]+)"', page)
            assert m
            nonces.append(m.group(1))
        go = threading.Barrier(2 * members)

        def click(k: int) -> tuple[float, str]:
            i = k // 2
            go.wait(timeout=120)
            t0 = time.perf_counter()
            r = requests.post(
                f"{server.url}{forms[i][1]}/send",
                data={"nonce": nonces[i]},
                allow_redirects=False,
                timeout=300,
            )
            assert r.status_code == 303, r.status_code
            return time.perf_counter() - t0, r.headers["Location"].rsplit("/", 1)[1]

        t0 = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=2 * members) as pool:
                got = list(pool.map(click, range(2 * members)))
        finally:
            server.stop()
        wall = time.perf_counter() - t0
        stored = prov.inbox.responses()
        by_rid = {r.response_id: r for r in stored}
        rids = [rid for _lat, rid in got]
        lost = sum(1 for rid in rids if rid not in by_rid)
        split = sum(1 for i in range(members) if rids[2 * i] != rids[2 * i + 1])
        wrong = sum(
            1
            for i in range(members)
            if rids[2 * i] in by_rid
            and (
                dict(by_rid[rids[2 * i]].answers) != sent[i]
                or by_rid[rids[2 * i]].person_id != forms[i][0].person_id
            )
        )
        lats = [lat for lat, _rid in got]
        q = statistics.quantiles(lats, n=100, method="inclusive")
        return {
            "forms": members,
            "stored": len(stored),
            "lost": lost,
            "duplicated": split + max(0, len(stored) - members),
            "wrong": wrong,
            "p50_ms": q[49] * 1000,
            "p95_ms": q[94] * 1000,
            "p99_ms": q[98] * 1000,
            "max_ms": max(lats) * 1000,
            "wall_s": wall,
            "forms_per_s": members / wall,
        }


REAL_SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from automations.forms.inbox import Inbox
from automations.forms.local import AppInfo, create_app, start_server_thread
from automations.forms.tokens import LinkSigner
app = create_app(Inbox(Path({inbox!r})), LinkSigner("b" * 32), info=AppInfo(),
                 sends_per_hour=10**6)
# settled as ``corecruit forms serve`` settles it (what start-up made is not walked by the GC)
print(start_server_thread(app, threads=8, settle=True).url, flush=True)
sys.stdin.read()
"""

MINIMAL_SERVER = """
import json, secrets, sqlite3, sys, threading
from flask import Flask, request, redirect
import waitress
db = {db!r}
local = threading.local()
def con():
    c = getattr(local, "c", None)
    if c is None:
        c = local.c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
    return c
con().execute("CREATE TABLE IF NOT EXISTS drafts (k TEXT PRIMARY KEY, a TEXT)")
con().execute("CREATE TABLE IF NOT EXISTS subs (n TEXT UNIQUE, k TEXT, a TEXT)")
app = Flask("minimal")
@app.post("/f/<path:token>/<int:n>")
def page(token, n):
    c = con(); c.execute("BEGIN IMMEDIATE")
    row = c.execute("SELECT a FROM drafts WHERE k=?", (token,)).fetchone()
    a = json.loads(row[0]) if row else {{}}
    a.update({{k: v for k, v in request.form.items() if k != "nav"}})
    c.execute("INSERT OR REPLACE INTO drafts VALUES (?,?)", (token, json.dumps(a)))
    c.execute("COMMIT")
    return redirect(f"/f/{{token}}/{{n + 1}}", 303)
@app.get("/f/<path:token>/check")
def check(token):
    row = con().execute("SELECT a FROM drafts WHERE k=?", (token,)).fetchone()
    return f'<form><input name="nonce" value="{{secrets.token_hex(8)}}">{{row[0]}}</form>'
@app.post("/f/<path:token>/send")
def send(token):
    c = con(); c.execute("BEGIN IMMEDIATE")
    a = c.execute("SELECT a FROM drafts WHERE k=?", (token,)).fetchone()[0]
    c.execute("INSERT OR IGNORE INTO subs VALUES (?,?,?)", (request.form["nonce"], token, a))
    c.execute("COMMIT")
    return redirect(f"/f/{{token}}/done/{{request.form['nonce']}}", 303)
srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
print(f"http://127.0.0.1:{{srv.effective_port}}", flush=True)
threading.Thread(target=srv.run, daemon=True).start()
sys.stdin.read()
"""


def _cpu_seconds(pid: int) -> float:
    """CPU time of every thread of the process so far, in nanoseconds where Linux gives
    them (schedstat); /proc/<pid>/stat counts in ticks of 10 ms, too coarse for a few
    forms."""
    try:
        return (
            sum(
                int((task / "schedstat").read_text().split()[0])
                for task in Path(f"/proc/{pid}/task").iterdir()
            )
            / 1e9
        )
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_submission(n: int, block: int = 5) -> dict[str, float]:
    """CPU seconds per submitted form: the real server and the minimal one, same forms.

    Both servers run side by side and take turns, ``block`` forms each (who goes first
    alternates), until each has had ``n``: load from other programs on the machine then
    falls on both alike. Also gives the median of the turns' own ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        _prov, forms = setup(Path(tmp), 10)
        codes = {
            "corecruit": REAL_SERVER.format(root=str(ROOT), inbox=str(Path(tmp) / "inbox.sqlite3")),
            "minimal Flask + SQLite": MINIMAL_SERVER.format(db=str(Path(tmp) / "minimal.sqlite3")),
        }
        procs: dict[str, tuple[subprocess.Popen[str], str]] = {}
        cpu: dict[str, list[float]] = {name: [] for name in codes}
        wall: dict[str, list[float]] = {name: [] for name in codes}
        rng = random.Random(1)
        try:
            for name, code in codes.items():
                proc = subprocess.Popen(
                    [sys.executable, "-c", code],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert proc.stdout is not None
                procs[name] = (proc, proc.stdout.readline().strip())
                for i in range(3):  # warm up: every page compiled, every thread started
                    spec, path = forms[i]
                    send_form(procs[name][1], spec, path, f"warm-up {name} {i}", rng, twice=False)
            for turn in range(max(1, n // block)):
                order = list(procs.items())
                for name, (proc, url) in order[:: 1 if turn % 2 == 0 else -1]:
                    before = _cpu_seconds(proc.pid)
                    t0 = time.perf_counter()
                    for i in range(block):
                        spec, path = forms[(turn * block + i) % len(forms)]
                        send_form(url, spec, path, f"cpu{turn}-{i}", rng, twice=False)
                    wall[name].append(time.perf_counter() - t0)
                    cpu[name].append(_cpu_seconds(proc.pid) - before)
        finally:
            for proc, _url in procs.values():
                proc.kill()
                proc.wait()
    out: dict[str, float] = {}
    for name in codes:
        out[name] = sum(cpu[name]) / (len(cpu[name]) * block)
        out[f"{name} wall"] = sum(wall[name]) / (len(wall[name]) * block)
    out["ratios"] = statistics.median(
        a / b for a, b in zip(cpu["corecruit"], cpu["minimal Flask + SQLite"], strict=True)
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--forms-each", type=int, default=8)
    ap.add_argument("--burst", type=int, default=400, help="people pressing Send at once (0: skip)")
    ap.add_argument("--cpu", type=int, default=0, help="compare CPU per submission (N forms)")
    ap.add_argument("--block", type=int, default=5, help="with --cpu: forms a server sends a turn")
    args = ap.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "queue depth", connection limit
    if args.cpu:
        got = cpu_per_submission(args.cpu, args.block)
        mini = got["minimal Flask + SQLite"]
        print("| server | CPU ms per submission | wall ms per submission | CPU × minimal |")
        print("|---|---:|---:|---:|")
        for name in ("corecruit", "minimal Flask + SQLite"):
            print(
                f"| {name} | {got[name] * 1000:.1f} | {got[name + ' wall'] * 1000:.1f} "
                f"| {got[name] / mini:.2f} |"
            )
        print(f"median of the turns' own ratios: {got['ratios']:.2f}")
        return
    total = args.members * args.forms_each
    base = run(1, total, 1)  # baseline: one member, one form after another
    load = run(args.members, args.forms_each, args.members)
    rows = [
        ("1 member, one after another (baseline)", base),
        (f"{args.members} members at once", load),
    ]
    if args.burst:
        rows.append((f"{args.burst} press Send at once, each double-clicked", burst(args.burst)))
    print(
        "| run | forms | stored | lost | duplicated | wrong | send p50 ms | p95 ms | p99 ms "
        "| max ms | forms/s | vs baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        ratio = r["forms_per_s"] / base["forms_per_s"]
        print(
            f"| {name} | {r['forms']:.0f} | {r['stored']:.0f} | {r['lost']:.0f} "
            f"| {r['duplicated']:.0f} | {r['wrong']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['forms_per_s']:.1f} | {ratio:.2f}x |"
        )
    bad = sum(r["lost"] + r["duplicated"] + r["wrong"] for _name, r in rows)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
