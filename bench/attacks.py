"""The attack list, rerun on the code as it is: a security reviewer and a careless user.

On a throwaway copy of the example campaign (redacted, forms pushed, the real local
form server under waitress on loopback), tries each class of attack and counts how
many attempts were refused (or, for races and replays, how many left the inbox
exactly right). Prints one markdown table row per class; exits 1 if anything got
through.

    .venv/bin/python bench/attacks.py

Classes: tampered, expired and borrowed links; HTML escaping in the form pages and the
decision pack; formula injection into the workbooks; odd numbers as scores; money as
typed (``£12,50``, ``1e3``, ``sNaN``...) when the one money parser is present; CR/LF
and comma email addresses when the one-mailbox check is present; send replays and
made-up nonces; sends per hour; pages saved at once from two tabs; security headers
on every kind of response.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automations.config import load_settings  # noqa: E402
from automations.context import Context, make_context  # noqa: E402
from automations.forms.base import FormSpec, ScaleItem, get_provider  # noqa: E402
from automations.forms.local import (  # noqa: E402
    SECURITY_HEADERS,
    LocalFormsProvider,
    RunningServer,
    create_app,
    start_server_thread,
)
from automations.forms.tokens import LinkClaims, LinkSigner  # noqa: E402
from automations.jobs.forms import collect_job, current_specs, push_job  # noqa: E402
from automations.jobs.redact import redact_job  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402

NOW = dt.datetime(2027, 1, 25, 9, 0)

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "javascript:alert(3)//<a href=javascript:alert(3)>x</a>",
    "<iframe src=https://evil.example></iframe>",
    "{{ 7*7 }}<b>{% raw %}bold{% endraw %}</b>",
    "<style>body{display:none}</style>",
]
FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    '=HYPERLINK("https://evil.example","open me")',
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
ODD_SCORES = ["sNaN", "-sNaN", "NaN", "Infinity", "-Infinity", "1e3", "1e0", "1_0", "٣", "0x2"]
MONEY = ["£12,50", "12,5", "1e3", "1E2", "sNaN", "-sNaN", "NaN", "Infinity", "12.505", "£", "12 50"]
ADDRESSES = [
    "a@example.org\r\nBcc: b@example.org",
    "a@example.org\nBcc: b@example.org",
    "a@example.org, b@example.org",
    "a@example.org;b@example.org",
    "A <a@example.org>, B <b@example.org>",
    "a@example.org\r",
]


@dataclass
class Row:
    name: str
    tried: int = 0
    refused: int = 0
    notes: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str = "") -> None:
        self.tried += 1
        self.refused += int(ok)
        if not ok and what:
            self.notes.append(what)


@dataclass
class World:
    ctx: Context
    provider: LocalFormsProvider
    server: RunningServer
    specs: dict[str, FormSpec]
    paths: dict[str, str]  # person id -> /f/<token> for shortlisting


def setup(folder: Path) -> World:
    config = folder / "config"
    shutil.copytree(ROOT / "config", config)
    ctx = make_context(load_settings(config), clock=lambda: NOW)
    init_campaign(ctx, example=True)
    redact_job(ctx)
    from tests.review_support import mark_reviewed

    mark_reviewed(ctx)  # staff have checked every redaction, so the panel gets them
    redact_job(ctx)
    push_job(ctx, send=False)
    staff = ctx.stores.staff
    staff.forget()
    frames = staff.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    specs = {s.person_id: s for s in current_specs(ctx, frames) if s.stage == "shortlisting"}
    links = frames["form_links"]
    paths = {
        str(r["person_id"]): re.sub(r"^https?://[^/]+", "", str(r["url"]))
        for _, r in links.iterrows()
        if r["stage"] == "shortlisting"
    }
    provider = get_provider(ctx)
    assert isinstance(provider, LocalFormsProvider)
    app = create_app(provider.inbox, provider.signer, now=provider.now)
    return World(ctx, provider, start_server_thread(app, threads=8), specs, paths)


def nonce(s: requests.Session, url: str) -> str:
    m = re.search(r'name="nonce" value="([^"]+)"', s.get(url + "/check", timeout=30).text)
    assert m
    return m.group(1)


def fill(
    s: requests.Session,
    url: str,
    spec: FormSpec,
    score: str = "2",
    notes: dict[str, str] | str = "",
) -> None:
    """Fill every page the server gives this person (large print and easy read people
    have more), posting every answer each time, as forms_support.fill does."""
    data = {"nav": "next"}
    for item in spec.items():
        if isinstance(item, ScaleItem):
            data[item.item_id] = score
        elif isinstance(notes, str):
            data[item.item_id] = notes
        else:
            data[item.item_id] = notes.get(item.item_id, "")
    at = f"{url}/1"
    while not at.endswith("/check"):
        r = s.post(at, data=data, allow_redirects=False, timeout=30)
        assert r.status_code == 303, r.status_code
        at = r.headers["Location"]
        at = at if at.startswith("http") else url.split("/f/")[0] + at


# ------------------------------------------------------------------ the classes


def links(w: World) -> Row:
    row = Row("tampered, expired and borrowed links (403/410, nothing of the form shown)")
    u = w.server.url
    thief = LinkSigner("another-secret-that-is-long-enough")

    def refused(path: str, base: str = u) -> bool:
        r = requests.get(base + path, timeout=30)
        text = r.text
        shown = any(s.title in text or "Candidate" in text for s in w.specs.values())
        return r.status_code in (403, 410) and not shown

    later = w.provider.now() + dt.timedelta(days=61)
    expired = create_app(w.provider.inbox, w.provider.signer, now=lambda: later)
    late = start_server_thread(expired)
    try:
        for pid, path in w.paths.items():
            token = path.rsplit("/", 1)[1]
            for i in (0, 7, len(token) // 2, -3, -1):
                ch = "A" if token[i] != "A" else "B"
                bad = token[:i] + ch + (token[i + 1 :] if i != -1 else "")
                row.check(refused(f"/f/{bad}"), f"tampered {pid}")
            row.check(refused(path, late.url), f"expired {pid}")
            spec = w.specs[pid]
            stored = w.provider.inbox.form(spec.key)
            assert stored is not None
            claims = LinkClaims(spec.key, pid, stored.token_id, stored.expires_at)
            row.check(refused(f"/f/{thief.sign(claims)}"), f"forged {pid}")
            other = next(p for p in w.paths if p != pid)
            body = w.paths[other].rsplit("/", 1)[1].partition(".")[0]
            row.check(refused(f"/f/{body}.{token.partition('.')[2]}"), f"swapped {pid}")
            old = LinkClaims(spec.key, pid, "an-old-token-id", stored.expires_at)
            row.check(refused(f"/f/{w.provider.signer.sign(old)}"), f"replaced {pid}")
    finally:
        late.stop()
    return row


def escaping_and_formulas(w: World) -> tuple[Row, Row]:
    """Notes with markup and formulas, sent by three panel members: the form pages, the
    raw scores and exceptions in the staff workbook, and the decision pack."""
    esc = Row("HTML in notes: check page, thank-you page and decision pack show it as text")
    frm = Row("formula injection: notes written to the staff workbook as text, never formulas")
    payloads = XSS + FORMULAS
    people = list(w.paths)[:3]
    for k, pid in enumerate(people):
        spec, url = w.specs[pid], w.server.url + w.paths[pid]
        s = requests.Session()
        boxes = [i.item_id for i in spec.items() if not isinstance(i, ScaleItem)]
        fill(s, url, spec, score=str(1 + k), notes=dict(zip(boxes, payloads, strict=False)))
        page = s.get(url + "/check", timeout=30).text
        for text in XSS:
            esc.check(text not in page, f"check page {pid}")
        r = s.post(url + "/send", data={"nonce": nonce(s, url)}, timeout=30)
        assert "are saved" in r.text, r.status_code
        for text in XSS:
            esc.check(text not in r.text, f"thank-you page {pid}")
    collect_job(w.ctx)
    from automations.reports.decision_pack import write_pack

    pack = write_pack(w.ctx, "staff").read_text(encoding="utf-8")
    for text in XSS:
        esc.check(text not in pack and "<script>" not in pack, "decision pack")
    book = openpyxl.load_workbook(w.ctx.settings.workspace / w.ctx.campaign.id / "staff.xlsx")
    cells = [c for ws in book for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    for text in FORMULAS:
        mine = [c for c in cells if c.value.strip() == text.strip()]
        ok = bool(mine) and all(c.data_type != "f" for c in mine)
        frm.check(ok, f"{text!r} {'missing' if not mine else 'a formula'}")
    frm.check(all(c.data_type != "f" for c in cells), "some cell is a formula")
    return esc, frm


def odd_scores(w: World) -> Row:
    row = Row("odd numbers as scores (sNaN, NaN, Infinity, 1e3, 1_0...): 422, nothing kept")
    pid = list(w.paths)[3]
    spec, url = w.specs[pid], w.server.url + w.paths[pid]
    item = spec.sections[0].items[0]
    for text in ODD_SCORES:
        r = requests.post(f"{url}/1", data={item.item_id: text, "nav": "next"}, timeout=30)
        kept = w.provider.inbox.draft(spec.key).get(item.item_id) == text
        row.check(r.status_code == 422 and not kept, f"{text!r}: {r.status_code}")
    return row


def _find(module: str, *names: str) -> Callable[..., Any] | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    for n in names:
        fn = getattr(mod, n, None)
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    return None


def money(_w: World) -> Row:
    row = Row("money as typed (£12,50, 1e3, sNaN, 12.505...): refused by the one parser")
    parse = _find("automations.transforms.money", "parse_money", "parse_amount", "read_money")
    if parse is None:
        row.notes.append("no automations.transforms.money parser on this code: not tried")
        return row
    for text in MONEY:
        try:
            got = parse(text)
        except Exception:
            got = None
        if isinstance(got, tuple):
            got = got[0]
        row.check(got is None, f"{text!r} read as a number")
    return row


def addresses(_w: World) -> Row:
    row = Row("CR/LF and comma email addresses: refused as not exactly one mailbox")
    problem = _find("automations.transforms.addresses", "mailbox_problem")
    if problem is None:
        row.notes.append("no one-mailbox check on this code: not tried")
        return row
    for text in ADDRESSES:
        row.check(bool(problem(text)), f"{text!r} accepted")  # a reason, or None when good
    return row


def replays(w: World) -> tuple[Row, Row]:
    row = Row(
        "send replays: no, made-up or another form's nonce refused; a replay, Back+Send "
        "and a double-click stored once"
    )
    lim = Row("sends per form per hour: the 21st different send in an hour gets 429")
    pid = list(w.paths)[4]
    spec, url = w.specs[pid], w.server.url + w.paths[pid]
    s = requests.Session()
    fill(s, url, spec, score="3")
    inbox = w.provider.inbox
    other = w.provider.signer.new_nonce(w.specs[next(iter(w.paths))].key, "x")
    for data in ({}, {"nonce": ""}, {"nonce": "made-up"}, {"nonce": "a.b"}, {"nonce": other}):
        before = inbox.count()
        r = s.post(url + "/send", data=data, allow_redirects=False, timeout=30)
        row.check(r.status_code == 400 and inbox.count() == before, f"{data}: {r.status_code}")
    n = nonce(s, url)
    before = inbox.count()
    first = s.post(url + "/send", data={"nonce": n}, allow_redirects=False, timeout=30)
    for _ in range(3):  # the same post replayed
        r = s.post(url + "/send", data={"nonce": n}, allow_redirects=False, timeout=30)
        row.check(r.headers.get("Location") == first.headers["Location"], "replay stored again")
    for _ in range(3):  # Back to the check page, Send again
        r = s.post(url + "/send", data={"nonce": nonce(s, url)}, allow_redirects=False, timeout=30)
        row.check(r.headers.get("Location") == first.headers["Location"], "Back+Send stored again")
    # a double-click: the same page sent ten times at once, after a change
    fill(s, url, spec, score="1")
    n = nonce(s, url)
    go = threading.Barrier(10)

    def click(_i: int) -> str:
        go.wait(timeout=30)
        return str(
            requests.post(
                url + "/send", data={"nonce": n}, allow_redirects=False, timeout=60
            ).headers.get("Location")
        )

    with ThreadPoolExecutor(10) as pool:
        got = set(pool.map(click, range(10)))
    row.check(len(got) == 1, "a double-click stored twice")
    row.check(inbox.count() == before + 2, f"{inbox.count() - before} stored, 2 expected")
    # the hourly bound: 20 different sends are fine, the 21st is refused kindly
    stored = sum(1 for r in inbox.responses([spec.key]))
    codes = []
    for k in range(21 - stored):
        fill(s, url, spec, score=str(k % 5), notes=f"change {k}")
        r = s.post(url + "/send", data={"nonce": nonce(s, url)}, allow_redirects=False, timeout=30)
        codes.append(r.status_code)
    lim.check(codes.count(429) == 1 and codes[-1] == 429, f"codes {codes}")
    lim.check(len(inbox.responses([spec.key])) == 20, "more than 20 stored in the hour")
    return row, lim


def page_saves(w: World) -> Row:
    row = Row("pages saved at once from two tabs (40 saves): every answer kept")
    from automations.forms.pages import pages as pages_of
    from automations.forms.pages import per_page

    pid = list(w.paths)[5]
    spec, url = w.specs[pid], w.server.url + w.paths[pid]
    shown = pages_of(spec, per_page(spec, w.provider.inbox.draft(spec.key)))
    rounds = max(1, 40 // len(shown))
    for k in range(rounds):
        go = threading.Barrier(len(shown))

        def want(n: int, k: int = k) -> dict[str, str]:
            return {
                i.item_id: str(k % 5) if isinstance(i, ScaleItem) else f"r{k} p{n}"
                for i in shown[n - 1].items
            }

        def save(n: int, go: threading.Barrier = go, want: Any = want) -> None:
            go.wait(timeout=30)
            requests.post(f"{url}/{n}", data={"nav": "save", **want(n)}, timeout=60)

        with ThreadPoolExecutor(len(shown)) as pool:
            list(pool.map(save, range(1, len(shown) + 1)))
        draft = w.provider.inbox.draft(spec.key)
        for n in range(1, len(shown) + 1):
            ok = all(draft.get(x) == v for x, v in want(n).items())
            row.check(ok, f"round {k} page {n} lost")
    return row


def headers(w: World) -> Row:
    row = Row("security headers on every response (200, 303, 400, 403, 404, 405, 410, 413, 500)")
    u = w.server.url
    path = w.paths[next(iter(w.paths))]
    calls = [
        ("GET", "/", {}),
        ("GET", "/healthz", {}),
        ("GET", path, {}),
        ("GET", path + "/1", {}),
        ("GET", path + "/check", {}),
        ("POST", path + "/1", {"data": {"nav": "next"}}),
        ("POST", path + "/send", {}),
        ("GET", "/f/not-a-link", {}),
        ("GET", "/nothing-here", {}),
        ("GET", path + "/send", {}),
        ("POST", "/healthz", {}),
        ("PUT", path, {}),
        ("POST", path + "/1", {"data": {"nav": "save", "x": "y" * 3_000_000}}),
        ("GET", path + "/99", {}),
    ]
    for method, p, kw in calls:
        r = requests.request(method, u + p, allow_redirects=False, timeout=60, **kw)
        missing = [k for k, v in SECURITY_HEADERS if r.headers.get(k) != v]
        row.check(not missing, f"{method} {r.status_code} lacks {missing}")
    # a crash inside a page: break the inbox under a running app
    inbox = w.provider.inbox

    def boom(_key: str) -> None:
        raise RuntimeError("a value that must not be shown")

    broken = type(inbox)(inbox.path)
    broken.form = boom  # type: ignore[method-assign,assignment]
    app = create_app(broken, w.provider.signer, now=w.provider.now)
    srv = start_server_thread(app)
    try:
        r = requests.get(srv.url + path, timeout=30)
        missing = [k for k, v in SECURITY_HEADERS if r.headers.get(k) != v]
        ok = r.status_code == 500 and not missing and "must not be shown" not in r.text
        row.check(ok, f"500 page: {r.status_code} lacks {missing}")
    finally:
        srv.stop()
    return row


def main() -> None:
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    logging.getLogger("automations.forms.local").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        w = setup(Path(tmp))
        try:
            rows = [links(w), odd_scores(w), *replays(w), page_saves(w), headers(w)]
            rows += [*escaping_and_formulas(w), money(w), addresses(w)]
        finally:
            w.server.stop()
    print("| attack class | tried | refused / held | notes |")
    print("|---|---:|---:|---|")
    bad = 0
    for r in rows:
        bad += r.tried - r.refused
        note = "; ".join(r.notes[:3]) + (" …" if len(r.notes) > 3 else "")
        print(f"| {r.name} | {r.tried} | {r.refused} | {note} |")
    print(f"\n{sum(r.tried for r in rows)} tried, {sum(r.refused for r in rows)} refused or held.")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
