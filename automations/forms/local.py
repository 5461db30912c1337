"""The local forms backend: corecruit's own small form server.

``LocalFormsProvider`` keeps each form's spec and personal link in the SQLite
inbox; ``create_app`` is the Flask app that serves them (``corecruit forms
serve`` runs it under waitress; ``start_server_thread`` runs it in a thread for
tests and the runner).

How a person uses it: they open their own link, read the intro, go page by page
(answers are saved at every step; "Save and come back later" keeps them with no
time limit), check their answers, and send. The submission is committed to the
append-only inbox before the thank-you page says it is saved. They can send
again to correct a score: the latest counts. A changed, forged or expired link
gets a kind page that shows nothing of anyone's form.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import hashlib
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import jinja2
import jinja2.meta
from flask import Flask, Response, abort, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from ..config import Settings
from ..errors import ConfigError, StoreError
from ..transforms.forms import answer_errors, candidate_label
from ..transforms.short_codes import code_from, grouped, normalise
from .base import (
    CANT_SCORE,
    FormHandle,
    FormSpec,
    ScaleItem,
    ScalePoint,
    comment_item_id,
)
from .base import Response as FormResponse
from .inbox import Inbox, SendLimitReached, StoredForm, inbox_path
from .links import (  # noqa: F401  (re-exported: the server's callers import them here)
    base_url,
    exposed_host_note,
    is_loopback,
    link_warnings,
    links_not_emailed,
    links_unreachable,
)
from .pages import (
    PER_PAGE_CHOICES,
    PER_PAGE_KEY,
    Page,
    added_since,
    first_page_of,
    first_page_with,
    new_marks,
    page_of_item,
    pages,
    per_page,
)
from .pages import splits as can_split
from .tokens import BadLink, LinkClaims, LinkSigner, form_link, load_secret, new_token_id

Now = Callable[[], dt.datetime]


# Wrong short codes one address may type in an hour (everyone together: ten times that).
CODE_TRIES_PER_HOUR = 10


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalFormsProvider:
    """Forms served by corecruit itself; responses read from the SQLite inbox."""

    def __init__(
        self,
        inbox: Inbox,
        signer: LinkSigner,
        url: str,
        *,
        link_days: int = 60,
        now: Now = _utcnow,
    ) -> None:
        self.inbox = inbox
        self.signer = signer
        self.url = url.rstrip("/")
        self.link_days = link_days
        self.now = now

    def link(self, stored: StoredForm) -> str:
        claims = LinkClaims(
            stored.spec.key, stored.spec.person_id, stored.token_id, stored.expires_at
        )
        return form_link(self.signer, self.url, claims)

    def ensure_forms(self, specs: Sequence[FormSpec]) -> dict[str, FormHandle]:
        """Store each spec; keep its link while it has more than a quarter of its life
        left, otherwise issue a new one (so a renewed link is sent again)."""
        now = self.now()
        current = self.inbox.links([s.key for s in specs])  # the links only, not the specs
        life = dt.timedelta(days=self.link_days)
        out: list[StoredForm] = []
        for spec in specs:
            old = current.get(spec.key)
            if old is not None and old[2] - now > life / 4:
                out.append(StoredForm(spec, *old))
            else:
                start = now.replace(microsecond=0)
                out.append(StoredForm(spec, new_token_id(), start, start + life))
        if not out:
            return {}
        self.inbox.put_forms(out, now)
        codes = self.inbox.put_codes(
            {
                (f.spec.key, f.token_id): [
                    code_from(self.signer.code_digest(f.spec.key, f.token_id, n)) for n in range(8)
                ]
                for f in out
            },
            now,
        )
        return {
            f.spec.key: FormHandle(
                f.spec.key,
                f.token_id,
                self.link(f),
                f.created_at,
                f.expires_at,
                grouped(codes.get((f.spec.key, f.token_id), "")),
            )
            for f in out
        }

    def fetch_responses(
        self, specs: Sequence[FormSpec], since: dt.datetime | None = None
    ) -> list[FormResponse]:
        return self.inbox.responses([s.key for s in specs], since)

    def mark_collected(self, responses: Sequence[FormResponse]) -> None:
        """Nothing to do: the inbox keeps every answer whatever happens to the forms."""


def local_provider(ctx: Any) -> LocalFormsProvider:
    settings: Settings = ctx.settings
    tz = ZoneInfo(settings.org.organisation.timezone)

    def now() -> dt.datetime:
        return ctx.now().replace(tzinfo=tz).astimezone(dt.UTC)

    return LocalFormsProvider(
        Inbox(inbox_path(settings)),
        LinkSigner(load_secret(settings)),
        base_url(settings),
        link_days=settings.org.forms.link_days,
        now=now,
    )


# ---------------------------------------------------------------- the web app


def _long_time(when: dt.datetime, tz: str) -> str:
    local = when.astimezone(ZoneInfo(tz))
    hour = local.strftime("%I:%M%p").lstrip("0").lower()
    return f"{local.day} {local.strftime('%B %Y')} at {hour}"


# Sent with every response, whatever made it (a page, a redirect, 404, 405, 500,
# /healthz): added around the whole WSGI app, so no error path can skip them.
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
_SECURITY_NAMES = frozenset(k.lower() for k, _ in SECURITY_HEADERS)


class _SecurityHeaders:
    """WSGI middleware: add :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [*(h for h in headers if h[0].lower() not in _SECURITY_NAMES)]
            headers.extend(SECURITY_HEADERS)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def _who(letters: list[str]) -> str:
    """'Candidate A' or 'Candidates A, B and C': who is on a page split by candidate."""
    if len(letters) == 1:
        return candidate_label(letters[0])
    core = [x.removeprefix("Candidate ").strip() for x in letters]
    return "Candidates " + ", ".join(core[:-1]) + " and " + core[-1]


def _added_words(who: str, count: int) -> str:
    """The start page's note after a late application (for a team's words file copied
    before it had ``added_since``)."""
    if not count:
        return ""
    if count == 1:
        return (
            f"A new application, {who}, has been added since you sent your scores. "
            "Please score it; your other scores are kept."
        )
    return (
        f"New applications, {who}, have been added since you sent your scores. "
        "Please score them; your other scores are kept."
    )


@dataclass(frozen=True)
class AppInfo:
    org_name: str = "Recruitment"
    team_contact: str = ""
    tz: str = "Europe/London"


# For a team's words file copied before these choices existed.
_CANT_SCORE_WORDS = {v: f"I can't score this one ({r})" for v, r in CANT_SCORE.items()}
_CANT_SCORE_CHOSEN_WORDS = {v: f"You can't score this one ({r})" for v, r in CANT_SCORE.items()}

# The words file for each format (a team may copy and change either).
_WORDS = {"standard": "_words.html", "easy read": "_words.easyread.html"}

# The templates every page is made from, compiled when the app is made (no request pays).
_TEMPLATES = (
    "code.html",
    "start.html",
    "page.html",
    "check.html",
    "done.html",
    "message.html",
    "_words.html",
    "_words.easyread.html",
)


class _CheckRow(NamedTuple):
    """One score on the check page, worked out in Python rather than in the template."""

    item: ScaleItem
    answer: str
    point: ScalePoint | None  # the scale point chosen, if the answer is one
    note: str


class _FormView:
    """What the server works out from one form's spec, once per spec rather than per
    request: its items by id, its pages for each choice of candidates a page, and
    each score's points by the value a page posts. Parsed specs are shared and frozen,
    so a view is kept for as long as the inbox hands back the same spec object."""

    def __init__(self, spec: FormSpec) -> None:
        self.spec = spec
        self.items = tuple(spec.items())
        self.by_id = {i.item_id: i for i in self.items}
        self.can_split = can_split(spec)
        self.points = {
            i.item_id: {str(p.value): p for p in i.points}
            for i in self.items
            if isinstance(i, ScaleItem)
        }
        # each section's scores with the id of their notes and their points by value
        self.scores = [
            [
                (i, comment_item_id(i.candidate_letter, i.question_id), self.points[i.item_id])
                for i in sec.items
                if isinstance(i, ScaleItem)
            ]
            for sec in spec.sections
        ]
        # every scale point on the form, once (a form's scores share one scale)
        self.all_points = tuple(
            dict.fromkeys(p for by in self.points.values() for p in by.values())
        )
        self._pages: dict[str, tuple[list[Page], dict[int, int]]] = {}

    def layout(self, answers: dict[str, str]) -> dict[str, Any]:
        """The person's pages (their choice of candidates a page) and where each starts."""
        choice = per_page(self.spec, answers)
        got = self._pages.get(choice)
        if got is None:
            all_pages = pages(self.spec, choice)
            got = self._pages[choice] = (all_pages, first_page_of(all_pages))
        return {"pages": got[0], "per_page": choice, "first_page": got[1]}

    def check_rows(self, answers: dict[str, str]) -> list[list[_CheckRow]]:
        """Each section's scores as the check page shows them."""
        get = answers.get
        return [
            [
                _CheckRow(item, a, points.get(a), get(note, ""))
                for item, note, points in scores
                for a in (get(item.item_id, ""),)
            ]
            for scores in self.scores
        ]


class _Views:
    """The views of the forms being served, by form key (bounded: a view is cheap to
    make again)."""

    def __init__(self, limit: int = 4096) -> None:
        self._by_key: dict[str, _FormView] = {}
        self._limit = limit

    def __call__(self, spec: FormSpec) -> _FormView:
        view = self._by_key.get(spec.key)
        if view is None or view.spec is not spec:
            if len(self._by_key) >= self._limit:
                self._by_key.clear()
            view = self._by_key[spec.key] = _FormView(spec)
        return view


class _GenuineLinks:
    """Links already checked, so each request checks its signature at most once and a
    person's next page not at all. Keyed by the whole signed text, which always gives
    the same claims; the expiry is still checked on every request."""

    def __init__(self, signer: LinkSigner, limit: int = 10_000) -> None:
        self.signer = signer
        self._seen: dict[str, LinkClaims] = {}
        self._limit = limit

    def claims(self, token: str, now: dt.datetime) -> LinkClaims:
        """The link's claims; :class:`BadLink` if it is forged, changed or expired."""
        claims = self._seen.get(token)
        if claims is None:
            claims = self.signer.verify(token, now)
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen[token] = claims
        elif now >= claims.expires_at:
            raise BadLink("the link has expired", expired=True)
        return claims


@dataclass(frozen=True)
class _Opened:
    """A form opened with a genuine, current link."""

    stored: StoredForm
    view: _FormView
    base: str  # the form's own address, "/f/<token>"

    @property
    def spec(self) -> FormSpec:
        return self.stored.spec

    def common(self) -> dict[str, Any]:
        return {"spec": self.spec, "base": self.base, "form_title": self.spec.title}


class _FormServer:
    """The form server's pages. One per app: it keeps what every request would
    otherwise work out again (compiled templates, checked links, views of the specs)."""

    def __init__(
        self,
        app: Flask,
        inbox: Inbox,
        signer: LinkSigner,
        info: AppInfo,
        now: Now,
        sends_per_hour: int,
        code_tries_per_hour: int,
    ) -> None:
        self.inbox = inbox
        self.signer = signer
        self.info = info
        self.now = now
        self.sends_per_hour = sends_per_hour
        self.code_tries_per_hour = code_tries_per_hour
        self.links = _GenuineLinks(signer)
        self.views = _Views()
        self.env = app.jinja_env
        for name in _TEMPLATES:  # compiled now; a team's own copy is found first
            self.env.get_template(name)
        self.words = {name: self._words_module(name) for name in _WORDS.values()}

    # ------------------------------------------------------------ making pages

    def _words_module(self, name: str) -> Any:
        """The words file made once, when it uses nothing but its own words (ours never
        does): a page then need not run it again. A team's words file that uses a page's
        values (say the organisation's name) is still run with each page (None here)."""
        assert self.env.loader is not None
        source = self.env.loader.get_source(self.env, name)[0]
        if jinja2.meta.find_undeclared_variables(self.env.parse(source)):
            return None
        return self.env.get_template(name).module

    def page(self, template: str, status: int = 200, **kw: Any) -> Response:
        """A page from a template, with what every template may use."""
        kw.setdefault("errors", {})
        kw.setdefault("form_title", "")
        fmt = kw["spec"].format if "spec" in kw else "standard"
        words = _WORDS.get(fmt, "_words.html")
        if self.words[words] is not None:
            kw["w"] = self.words[words]
        html = self.env.get_template(template).render(
            fmt=fmt,
            words=words,
            org_name=self.info.org_name,
            team_contact=self.info.team_contact,
            label=candidate_label,
            cant_score_words=_CANT_SCORE_WORDS,
            cant_score_chosen_words=_CANT_SCORE_CHOSEN_WORDS,
            **kw,
        )
        return Response(html, status=status, mimetype="text/html")

    def message(self, title: str, paragraphs: list[str], status: int) -> Response:
        return self.page("message.html", status, page_title=title, paragraphs=paragraphs)

    def open_form(self, token: str) -> _Opened | Response:
        """The form this link opens, or the kind page saying why it does not."""
        try:
            claims = self.links.claims(token, self.now())
        except BadLink as exc:
            if exc.expired:
                return self.expired()
            return self.message(
                "This link does not work",
                [
                    "Sorry, we could not open a form with this link. It may have been copied "
                    "only in part, or changed by mistake.",
                    "Please try the link in your email again, copying all of it. If it still "
                    "does not work, ask the recruitment team to send it again.",
                ],
                403,
            )
        stored = self.inbox.form(claims.form_key)
        if (
            stored is None
            or stored.token_id != claims.token_id
            or stored.spec.person_id != claims.person_id
        ):
            return self.replaced()
        return _Opened(stored, self.views(stored.spec), f"/f/{token}")

    def expired(self) -> Response:
        return self.message(
            "This link has expired",
            [
                "Sorry, your personal link to this form has run out. Your answers are "
                "safe: nothing you saved or sent has been lost.",
                "Please ask the recruitment team for a new link.",
            ],
            410,
        )

    def replaced(self) -> Response:
        return self.message(
            "This link is no longer in use",
            [
                "Sorry, this form has been replaced or closed. If you were sent a newer "
                "link, please use that one. Otherwise, ask the recruitment team.",
            ],
            410,
        )

    def code_page(self, status: int = 200, typed: str = "", error: str = "") -> Response:
        """The front page: a box for the short code in a letter."""
        return self.page(
            "code.html",
            status,
            page_title="Score forms",
            paragraphs=["If a letter gave you a code, type it here to open your own form."],
            typed=typed,
            errors={"code": error} if error else {},
            error_links={"code": "#code"},
        )

    def check_page(
        self, form: _Opened, answers: dict[str, str], nonce: str, errors: dict[str, str]
    ) -> Response:
        """The check page: every answer, the Send button, and any problems."""
        error_links: dict[str, str] = {}
        if errors:
            where = page_of_item(form.view.layout(answers)["pages"])
            error_links = {k: f"{form.base}/{n}#{k}" for k, n in where.items()}
        return self.page(
            "check.html",
            422 if errors else 200,
            page_title="Check your answers",
            answers=answers,
            rows=form.view.check_rows(answers),
            points=form.view.all_points,
            **form.view.layout(answers),
            nonce=nonce,
            comment_id=_comment_for,
            errors=_check_errors(form.spec, errors),
            error_links=error_links,
            **form.common(),
        )

    # ------------------------------------------------------------ the pages

    def home(self) -> Response:
        return self.code_page()

    def code_box(self) -> Response | Any:
        """The front page's box (a plain GET form: no JavaScript needed)."""
        return self.by_code(request.args.get("code", "")[:40])

    def by_code(self, code: str) -> Response | Any:
        """A short code from a letter -> the person's own signed link. Wrong codes are
        counted: past ``code_tries_per_hour`` from one address (or ten times that from
        everyone) every code is refused for the hour, right or wrong, so guessing gets
        nowhere."""
        at = self.now()
        # counted by a digest of the address: the inbox keeps no one's IP address
        client = hashlib.sha256((request.remote_addr or "").encode()).hexdigest()[:16]
        hour = at - dt.timedelta(hours=1)
        if (
            self.inbox.code_tries(hour, client) >= self.code_tries_per_hour
            or self.inbox.code_tries(hour) >= 10 * self.code_tries_per_hour
        ):
            resp = self.message(
                "Please wait a while before trying again",
                [
                    "Too many codes that did not work were typed in the last hour, so we "
                    "cannot open a form with a code just now.",
                    "Please try again in an hour, or use the personal link you were sent. "
                    "The recruitment team can also help.",
                ],
                429,
            )
            resp.headers["Retry-After"] = "3600"
            return resp
        if not code.strip():
            return self.code_page(400, "", "Please type the code from your letter.")
        norm = normalise(code)
        hit = self.inbox.by_code(norm) if norm else None
        if hit is None:
            self.inbox.wrong_code(client, at)
            return self.code_page(
                404,
                code,
                "We could not find a form with that code. Please check each letter and "
                "number in your letter and try again. A code never has the letter O or I, "
                "or the number 0 or 1.",
            )
        stored = self.inbox.form(hit[0])
        if stored is None or stored.token_id != hit[1]:
            return self.replaced()
        if at >= stored.expires_at:
            return self.expired()
        claims = LinkClaims(
            stored.spec.key, stored.spec.person_id, stored.token_id, stored.expires_at
        )
        return redirect(form_link(self.signer, "", claims), 303)

    def health(self) -> Response:
        return Response("ok", mimetype="text/plain")

    def start(self, token: str) -> Response:
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        spec = form.spec
        last = self.inbox.latest_answers(spec.key)
        shape = form.view.layout(self.inbox.draft(spec.key))
        new = added_since(spec, last[1]) if last else []
        who = _who(new) if new else ""
        return self.page(
            "start.html",
            page_title=spec.title,
            last=_long_time(last[0], self.info.tz) if last else "",
            added=who,
            added_count=len(new),
            added_words=_added_words(who, len(new)),
            start_page=first_page_with(shape["pages"], new),
            marks=new_marks(shape["pages"], new),
            new_words=lambda m: "new" if m.whole else f"new: {_who(list(m.letters))}",
            can_split=form.view.can_split,
            choices=PER_PAGE_CHOICES,
            **shape,
            **form.common(),
        )

    def begin(self, token: str) -> Response | Any:
        """Keep the person's choice of candidates a page (works without JavaScript)."""
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        key = form.spec.key
        choice = request.form.get("per_page", "")
        if choice in PER_PAGE_CHOICES and self.inbox.draft(key).get(PER_PAGE_KEY) != choice:
            # merged, never written whole: another tab may be saving a page
            self.inbox.merge_draft(key, {PER_PAGE_KEY: choice}, self.now())
        # after a late application, straight to the first page with a candidate not yet sent
        last = self.inbox.latest_answers(key)
        new = added_since(form.spec, last[1]) if last else []
        all_pages = form.view.layout(self.inbox.draft(key))["pages"]
        return redirect(f"{form.base}/{first_page_with(all_pages, new)}", 303)

    def section(self, token: str, n: int) -> Response | Any:
        """One page of the form: shown (GET), or saved and moved on from (POST)."""
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        answers = self.inbox.draft(form.spec.key)
        all_pages = form.view.layout(answers)["pages"]
        if not 1 <= n <= len(all_pages):
            abort(404)
        here = all_pages[n - 1]
        errors: dict[str, str] = {}
        saved = False
        if request.method == "POST":
            got = self.save_page(form, here, n, len(all_pages))
            if not isinstance(got, tuple):
                return got
            answers, errors, saved = got
        sec = here.section
        return self.page(
            "page.html",
            422 if errors else 200,
            page_title=sec.title
            + (f" (part {here.part} of {here.parts})" if here.parts > 1 else ""),
            section=sec,
            here=here,
            who=_who(here.letters),
            n=n,
            total=len(all_pages),
            answers=answers,
            errors=errors,
            error_links={k: f"#{k}" for k in errors},
            saved=saved,
            **form.common(),
        )

    def save_page(
        self, form: _Opened, here: Page, n: int, total: int
    ) -> BaseResponse | tuple[dict[str, str], dict[str, str], bool]:
        """Save a posted page; the next page to go to, or (answers, errors, saved) to
        show this one again.

        The page says which questions it showed ("shown"): those are saved as sent
        (a question left empty is cleared), whatever page n holds now. If the form
        changed since the page was shown (a late candidate, another tab's choice of
        candidates a page), page n may hold other questions, and one the person
        never saw must not be blanked, nor one they answered dropped."""
        by_id = form.view.by_id
        listed = request.form.get("shown")
        shown = (
            [by_id[k] for k in dict.fromkeys(listed.split()) if k in by_id]
            if listed is not None
            else list(here.items)
        )
        posted = {i.item_id: request.form.get(i.item_id, "").replace("\r\n", "\n") for i in shown}
        errors = answer_errors(posted, shown)
        # A value that is not on the scale is never kept; everything else is saved,
        # merged into the draft in one transaction (another tab may save another page).
        invalid = {k for k in errors if posted.get(k, "").strip()}
        keep = {k: v for k, v in posted.items() if k not in invalid}
        answers = self.inbox.merge_draft(form.spec.key, keep, self.now())
        nav = request.form.get("nav", "next")
        base = form.base
        if nav == "next" and not errors:
            return redirect(f"{base}/{n + 1}" if n < total else f"{base}/check", 303)
        if nav == "back" and not invalid:
            return redirect(f"{base}/{n - 1}" if n > 1 else base, 303)
        if nav != "next":
            return answers, {k: e for k, e in errors.items() if k in invalid}, not invalid
        return answers, errors, False

    def check(self, token: str) -> Response:
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        nonce = self.signer.new_nonce(form.spec.key, form.stored.token_id)
        return self.check_page(form, self.inbox.draft(form.spec.key), nonce, {})

    def send(self, token: str) -> Response | Any:
        """Store the answers as sent, once, from the check page's Send button only."""
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        spec = form.spec
        nonce = request.form.get("nonce", "")
        if not self.signer.nonce_ok(nonce, spec.key, form.stored.token_id):
            # Only the check page's Send button can send: a post without its ticket
            # (a script, a replay, a page from another form) stores nothing.
            return self.message(
                "Please send from the check page",
                [
                    "Sorry, we could not tell which page this came from, so nothing was "
                    "sent. Your saved answers are safe.",
                    "Please open your link again, go to “Check your answers” and press Send there.",
                ],
                400,
            )
        answers = self.inbox.draft(spec.key)
        errors = answer_errors(answers, list(form.view.items))
        if errors:
            return self.check_page(form, answers, nonce, errors)
        try:
            rid, _at, _new = self.inbox.submit(
                form_key=spec.key,
                person_id=spec.person_id,
                token_id=form.stored.token_id,
                answers={i.item_id: answers.get(i.item_id, "") for i in form.view.items},
                nonce=nonce,
                now=self.now(),
                per_hour=self.sends_per_hour,
            )
        except SendLimitReached:
            resp = self.message(
                "Please wait a while before sending again",
                [
                    "This form has been sent many times in the last hour, so we have not "
                    "saved this one. Your answers are still kept on the form.",
                    "Please try again in an hour. If you need to change a score sooner, "
                    "ask the recruitment team.",
                ],
                429,
            )
            resp.headers["Retry-After"] = "3600"
            return resp
        return redirect(f"{form.base}/done/{rid}", 303)

    def done(self, token: str, rid: str) -> Response:
        """The thank-you page: what was saved, under which reference."""
        form = self.open_form(token)
        if isinstance(form, Response):
            return form
        spec = form.spec
        mine = [r for r in self.inbox.responses([spec.key]) if r.response_id == rid]
        if not mine:
            abort(404)
        r = mine[0]
        if spec.question_by_question:
            rows = [
                (candidate_label(i.candidate_letter), sec.title, r.answers.get(i.item_id, ""))
                for sec in spec.sections
                for i in sec.items
                if isinstance(i, ScaleItem)
            ]
        else:
            rows = [
                (candidate_label(i.candidate_letter), i.title, r.answers.get(i.item_id, ""))
                for i in spec.scale_items()
            ]
        return self.page(
            "done.html",
            page_title="Your answers are saved"
            if spec.kind == "answers"
            else "Your scores are saved",
            when=_long_time(r.submitted_at, self.info.tz),
            response_id=rid,
            saved=rows,
            answers=r.answers,
            **form.common(),
        )

    # ------------------------------------------------------------ errors

    def not_found(self, _e: Exception) -> Response:
        return self.message("Page not found", ["Sorry, there is no page here."], 404)

    def bad_request(self, _e: Exception) -> Response:
        return self.message(
            "Sorry, we could not read that",
            ["Please go back and try again. Your saved answers are safe."],
            400,
        )

    def not_allowed(self, e: Exception) -> Response:
        resp = self.message(
            "This page cannot be opened like that",
            ["Sorry, please open your form with the personal link you were sent."],
            405,
        )
        resp.headers["Allow"] = ", ".join(getattr(e, "valid_methods", None) or ["GET"])
        return resp

    def failed(self, _e: Exception) -> Response:
        return self.message(
            "Sorry, something went wrong on our side",
            [
                "Your saved answers are safe. Please try again in a few minutes.",
                "If it keeps happening, please tell the recruitment team.",
            ],
            500,
        )

    def too_big(self, _e: Exception) -> Response:
        return self.message(
            "That was too much to save at once",
            ["Please shorten your notes a little and try again."],
            413,
        )


def _comment_for(item: ScaleItem) -> str:
    return comment_item_id(item.candidate_letter, item.question_id)


def _check_errors(spec: FormSpec, errors: dict[str, str]) -> dict[str, str]:
    """On the check page each problem names the candidate and the question, since
    the page's heading no longer says which question it is (issue 20)."""
    out = {}
    for sec in spec.sections:
        for item in sec.items:
            if item.item_id not in errors:
                continue
            msg = errors[item.item_id]
            if isinstance(item, ScaleItem) and not item.legend:
                label = candidate_label(item.candidate_letter)
                question = item.title if item.title != label else sec.title
                msg = f"{msg.rstrip('.')} on “{question}”."
            out[item.item_id] = msg
    return out


def _routes(app: Flask, srv: _FormServer) -> None:
    """Every address the server answers, and its kind pages for errors."""
    app.add_url_rule("/", "home", srv.home, methods=["GET"])
    app.add_url_rule("/c", "code_box", srv.code_box, methods=["GET"])
    app.add_url_rule("/c/<code>", "by_code", srv.by_code, methods=["GET"])
    app.add_url_rule("/healthz", "health", srv.health, methods=["GET"])
    app.add_url_rule("/f/<token>", "start", srv.start, methods=["GET"])
    app.add_url_rule("/f/<token>/start", "begin", srv.begin, methods=["POST"])
    app.add_url_rule("/f/<token>/<int:n>", "section", srv.section, methods=["GET", "POST"])
    app.add_url_rule("/f/<token>/check", "check", srv.check, methods=["GET"])
    app.add_url_rule("/f/<token>/send", "send", srv.send, methods=["POST"])
    app.add_url_rule("/f/<token>/done/<rid>", "done", srv.done, methods=["GET"])
    app.register_error_handler(404, srv.not_found)
    app.register_error_handler(400, srv.bad_request)
    app.register_error_handler(405, srv.not_allowed)
    app.register_error_handler(500, srv.failed)
    app.register_error_handler(413, srv.too_big)


def create_app(
    inbox: Inbox,
    signer: LinkSigner,
    *,
    info: AppInfo | None = None,
    now: Now = _utcnow,
    templates: Path | None = None,
    sends_per_hour: int = 20,
    code_tries_per_hour: int = CODE_TRIES_PER_HOUR,
) -> Flask:
    """The form server. ``templates``: the team's own page templates (their words, say
    for easy read), looked for before corecruit's, as for email templates.
    ``sends_per_hour`` bounds how many submissions one form may store in an hour (a
    stolen link or a script cannot fill the inbox); ``code_tries_per_hour`` how many
    wrong short codes one address may type in an hour (see ``_FormServer.by_code``)."""
    package = Path(__file__).parent / "templates"
    app = Flask(__name__, template_folder=str(package))
    # Templates are compiled once and never checked for changes while serving.
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    if templates is not None and templates.is_dir():
        app.jinja_loader = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(templates)), jinja2.FileSystemLoader(str(package))]
        )
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.wsgi_app = _SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
    srv = _FormServer(
        app, inbox, signer, info or AppInfo(), now, sends_per_hour, code_tries_per_hour
    )
    _routes(app, srv)
    return app


def app_for(settings: Settings, now: Now = _utcnow) -> Flask:
    org = settings.org.organisation
    inbox = Inbox(inbox_path(settings))
    try:
        secret = load_secret(settings)
    except OSError:
        raise StoreError(
            f"the forms secret file cannot be made in "
            f"{settings.path(settings.org.forms.secret_file).parent}: please check that this "
            "folder exists and corecruit's user may write to it"
        ) from None
    return create_app(
        inbox,
        LinkSigner(secret),
        info=AppInfo(org.name, org.team_contact, org.timezone),
        now=now,
        templates=settings.path(settings.org.mail.templates) / "forms",
        sends_per_hour=settings.org.forms.sends_per_hour,
    )


# ---------------------------------------------------------------- serving


@dataclass
class RunningServer:
    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        """Close every connection from inside the server's own loop (closing sockets
        from another thread races with select), then stop the worker threads."""
        server = self.server

        def close_all() -> None:
            for channel in list(server._map.values()):
                with contextlib.suppress(OSError):
                    channel.close()

        if self.thread.is_alive():
            server.trigger.pull_trigger(close_all)
            self.thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)


def _settle() -> None:
    """Move everything made before serving (modules, templates, the app, parsed specs)
    out of the garbage collector's sight: it lives as long as the server, and with the
    data libraries the transforms import, a full collection that walks it all costs tens
    of milliseconds, landing on whichever request happens to trigger it."""
    gc.collect()
    gc.freeze()


def start_server_thread(
    target: Settings | Flask,
    host: str | None = None,
    port: int | None = None,
    threads: int = 8,
    *,
    settle: bool = False,
) -> RunningServer:
    """Serve the forms with waitress in a background thread (for tests and the runner).

    ``target`` is the settings (serve the configured inbox on the configured host and
    port) or a ready app (port 0 picks any free port). ``settle``: a process that does
    little else but serve (as ``corecruit forms serve``) keeps what it has made so far
    away from the garbage collector (see :func:`_settle`).
    """
    if isinstance(target, Settings):
        app = app_for(target)
        host = host or target.org.forms.host
        port = target.org.forms.port if port is None else port
    else:
        app = target
    host = host or "127.0.0.1"
    server = _listen(app, host, port or 0, threads)
    if settle:
        _settle()
    t = threading.Thread(target=server.run, name="corecruit-forms", daemon=True)
    t.start()
    return RunningServer(f"http://{host}:{server.effective_port}", server, t)


def _bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for host:port, bound here so that a failure leaves nothing
    open (waitress would leak its half-made server and worker threads)."""
    socks: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        for family, kind, proto, _name, addr in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(socks) > 1:  # the same free port on every address
                addr = (addr[0], socks[0].getsockname()[1], *addr[2:])
            sock.bind(addr)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def _listen(app: Flask, host: str, port: int, threads: int) -> Any:
    """A waitress server bound to host:port; a port already in use (a second server)
    or an address this computer does not have is a plain ConfigError, not a traceback."""
    from waitress.server import create_server

    try:
        socks = _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = (
                f"port {port} is already in use on {host}: is the form server already "
                "running? Stop the other program, or choose another forms.port"
            )
        elif exc.errno == errno.EACCES:
            why = f"corecruit may not listen on port {port}: choose a port above 1023"
        else:
            why = f"the form server cannot listen on {host} port {port} ({exc.strerror})"
        key = "forms.port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "forms.host"
        raise ConfigError("organisation.toml", key, why) from None
    return create_server(
        app, sockets=socks, threads=threads, ident="corecruit", clear_untrusted_proxy_headers=True
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the forms until stopped (``corecruit forms serve``)."""
    cfg = settings.org.forms
    server = _listen(app_for(settings), host or cfg.host, port or cfg.port, 8)
    server.print_listen("Serving on http://{}:{}")
    _settle()
    server.run()


__all__ = [
    "AppInfo",
    "LocalFormsProvider",
    "RunningServer",
    "app_for",
    "create_app",
    "exposed_host_note",
    "inbox_path",
    "link_warnings",
    "links_unreachable",
    "local_provider",
    "serve",
    "start_server_thread",
]
