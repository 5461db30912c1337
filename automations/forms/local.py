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
import hashlib
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from flask import Flask, Response, abort, redirect, render_template, request

from ..config import Settings
from ..errors import ConfigError, StoreError
from ..transforms.forms import answer_errors, candidate_label
from ..transforms.short_codes import code_from, grouped, normalise
from .base import (
    CANT_SCORE,
    FormHandle,
    FormSpec,
    ScaleItem,
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


class _SecurityHeaders:
    """WSGI middleware: add :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            ours = {k.lower() for k, _ in SECURITY_HEADERS}
            headers = [*((k, v) for k, v in headers if k.lower() not in ours), *SECURITY_HEADERS]
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
    wrong short codes one address may type in an hour (see ``by_code``)."""
    info = info or AppInfo()
    package = Path(__file__).parent / "templates"
    app = Flask(__name__, template_folder=str(package))
    if templates is not None and templates.is_dir():
        app.jinja_loader = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(templates)), jinja2.FileSystemLoader(str(package))]
        )
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.wsgi_app = _SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]

    def page(template: str, status: int = 200, **kw: Any) -> Response:
        kw.setdefault("errors", {})
        kw.setdefault("form_title", "")
        fmt = kw["spec"].format if "spec" in kw else "standard"
        html = render_template(
            template,
            fmt=fmt,
            words="_words.easyread.html" if fmt == "easy read" else "_words.html",
            org_name=info.org_name,
            team_contact=info.team_contact,
            label=candidate_label,
            # for a team's words file copied before these choices existed
            cant_score_words={v: f"I can't score this one ({r})" for v, r in CANT_SCORE.items()},
            cant_score_chosen_words={
                v: f"You can't score this one ({r})" for v, r in CANT_SCORE.items()
            },
            **kw,
        )
        return Response(html, status=status, mimetype="text/html")

    def message(title: str, paragraphs: list[str], status: int) -> Response:
        return page("message.html", status, page_title=title, paragraphs=paragraphs)

    def bad_link(exc: BadLink | None) -> Response:
        if exc is not None and exc.expired:
            return message(
                "This link has expired",
                [
                    "Sorry, your personal link to this form has run out. Your answers are "
                    "safe: nothing you saved or sent has been lost.",
                    "Please ask the recruitment team for a new link.",
                ],
                410,
            )
        return message(
            "This link does not work",
            [
                "Sorry, we could not open a form with this link. It may have been copied "
                "only in part, or changed by mistake.",
                "Please try the link in your email again, copying all of it. If it still "
                "does not work, ask the recruitment team to send it again.",
            ],
            403,
        )

    def open_form(token: str) -> tuple[StoredForm, str] | Response:
        try:
            claims = signer.verify(token, now())
        except BadLink as exc:
            return bad_link(exc)
        stored = inbox.form(claims.form_key)
        if (
            stored is None
            or stored.token_id != claims.token_id
            or stored.spec.person_id != claims.person_id
        ):
            return replaced()
        return stored, f"/f/{token}"

    def replaced() -> Response:
        return message(
            "This link is no longer in use",
            [
                "Sorry, this form has been replaced or closed. If you were sent a newer "
                "link, please use that one. Otherwise, ask the recruitment team.",
            ],
            410,
        )

    def common(stored: StoredForm, base: str) -> dict[str, Any]:
        return {"spec": stored.spec, "base": base, "form_title": stored.spec.title}

    def layout(spec: FormSpec, answers: dict[str, str]) -> dict[str, Any]:
        """The person's pages (their choice of candidates a page) and where each starts."""
        choice = per_page(spec, answers)
        all_pages = pages(spec, choice)
        return {
            "pages": all_pages,
            "per_page": choice,
            "first_page": first_page_of(all_pages),
        }

    def error_links(spec: FormSpec, base: str, answers: dict[str, str]) -> dict[str, str]:
        where = page_of_item(pages(spec, per_page(spec, answers)))
        return {k: f"{base}/{n}#{k}" for k, n in where.items()}

    def check_errors(spec: FormSpec, errors: dict[str, str]) -> dict[str, str]:
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

    def code_page(status: int = 200, typed: str = "", error: str = "") -> Response:
        return page(
            "code.html",
            status,
            page_title="Score forms",
            paragraphs=["If a letter gave you a code, type it here to open your own form."],
            typed=typed,
            errors={"code": error} if error else {},
            error_links={"code": "#code"},
        )

    @app.get("/")
    def home() -> Response:
        return code_page()

    @app.get("/c")
    def code_box() -> Response | Any:
        """The front page's box (a plain GET form: no JavaScript needed)."""
        return by_code(request.args.get("code", "")[:40])

    @app.get("/c/<code>")
    def by_code(code: str) -> Response | Any:
        """A short code from a letter -> the person's own signed link. Wrong codes are
        counted: past ``code_tries_per_hour`` from one address (or ten times that from
        everyone) every code is refused for the hour, right or wrong, so guessing gets
        nowhere."""
        at = now()
        # counted by a digest of the address: the inbox keeps no one's IP address
        client = hashlib.sha256((request.remote_addr or "").encode()).hexdigest()[:16]
        hour = at - dt.timedelta(hours=1)
        if (
            inbox.code_tries(hour, client) >= code_tries_per_hour
            or inbox.code_tries(hour) >= 10 * code_tries_per_hour
        ):
            resp = message(
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
            return code_page(400, "", "Please type the code from your letter.")
        norm = normalise(code)
        hit = inbox.by_code(norm) if norm else None
        if hit is None:
            inbox.wrong_code(client, at)
            return code_page(
                404,
                code,
                "We could not find a form with that code. Please check each letter and "
                "number in your letter and try again. A code never has the letter O or I, "
                "or the number 0 or 1.",
            )
        stored = inbox.form(hit[0])
        if stored is None or stored.token_id != hit[1]:
            return replaced()
        if at >= stored.expires_at:
            return bad_link(BadLink("the link has expired", expired=True))
        claims = LinkClaims(
            stored.spec.key, stored.spec.person_id, stored.token_id, stored.expires_at
        )
        return redirect(form_link(signer, "", claims), 303)

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok", mimetype="text/plain")

    @app.get("/f/<token>")
    def start(token: str) -> Response:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        last = inbox.latest_answers(stored.spec.key)
        shape = layout(stored.spec, inbox.draft(stored.spec.key))
        new = added_since(stored.spec, last[1]) if last else []
        who = _who(new) if new else ""
        return page(
            "start.html",
            page_title=stored.spec.title,
            last=_long_time(last[0], info.tz) if last else "",
            added=who,
            added_count=len(new),
            added_words=_added_words(who, len(new)),
            start_page=first_page_with(shape["pages"], new),
            marks=new_marks(shape["pages"], new),
            new_words=lambda m: "new" if m.whole else f"new: {_who(list(m.letters))}",
            can_split=can_split(stored.spec),
            choices=PER_PAGE_CHOICES,
            **shape,
            **common(stored, base),
        )

    @app.post("/f/<token>/start")
    def begin(token: str) -> Response | Any:
        """Keep the person's choice of candidates a page (works without JavaScript)."""
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        choice = request.form.get("per_page", "")
        if choice in PER_PAGE_CHOICES and inbox.draft(stored.spec.key).get(PER_PAGE_KEY) != choice:
            # merged, never written whole: another tab may be saving a page
            inbox.merge_draft(stored.spec.key, {PER_PAGE_KEY: choice}, now())
        # after a late application, straight to the first page with a candidate not yet sent
        last = inbox.latest_answers(stored.spec.key)
        new = added_since(stored.spec, last[1]) if last else []
        all_pages = pages(stored.spec, per_page(stored.spec, inbox.draft(stored.spec.key)))
        return redirect(f"{base}/{first_page_with(all_pages, new)}", 303)

    @app.route("/f/<token>/<int:n>", methods=["GET", "POST"])
    def section(token: str, n: int) -> Response | Any:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        spec = stored.spec
        answers = inbox.draft(spec.key)
        shape = layout(spec, answers)
        total = len(shape["pages"])
        if not 1 <= n <= total:
            abort(404)
        here = shape["pages"][n - 1]
        sec = here.section
        errors: dict[str, str] = {}
        saved = False
        if request.method == "POST":
            # The page says which questions it showed ("shown"): those are saved as sent
            # (a question left empty is cleared), whatever page n holds now. If the form
            # changed since the page was shown (a late candidate, another tab's choice of
            # candidates a page), page n may hold other questions, and one the person
            # never saw must not be blanked, nor one they answered dropped.
            by_id = {i.item_id: i for i in spec.items()}
            listed = request.form.get("shown")
            shown = (
                [by_id[k] for k in dict.fromkeys(listed.split()) if k in by_id]
                if listed is not None
                else list(here.items)
            )
            posted = {
                i.item_id: request.form.get(i.item_id, "").replace("\r\n", "\n") for i in shown
            }
            errors = answer_errors(posted, shown)
            # A value that is not on the scale is never kept; everything else is saved,
            # merged into the draft in one transaction (another tab may save another page).
            invalid = {k for k in errors if posted.get(k, "").strip()}
            keep = {k: v for k, v in posted.items() if k not in invalid}
            answers = inbox.merge_draft(spec.key, keep, now())
            nav = request.form.get("nav", "next")
            if nav == "next" and not errors:
                return redirect(f"{base}/{n + 1}" if n < total else f"{base}/check", 303)
            if nav == "back" and not invalid:
                return redirect(f"{base}/{n - 1}" if n > 1 else base, 303)
            if nav != "next":
                errors = {k: e for k, e in errors.items() if k in invalid}
                saved = not invalid
        return page(
            "page.html",
            422 if errors else 200,
            page_title=sec.title
            + (f" (part {here.part} of {here.parts})" if here.parts > 1 else ""),
            section=sec,
            here=here,
            who=_who(here.letters),
            n=n,
            total=total,
            answers=answers,
            errors=errors,
            error_links={k: f"#{k}" for k in errors},
            saved=saved,
            **common(stored, base),
        )

    def comment_for(item: ScaleItem) -> str:
        return comment_item_id(item.candidate_letter, item.question_id)

    @app.get("/f/<token>/check")
    def check(token: str) -> Response:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        answers = inbox.draft(stored.spec.key)
        return page(
            "check.html",
            page_title="Check your answers",
            answers=answers,
            **layout(stored.spec, answers),
            nonce=signer.new_nonce(stored.spec.key, stored.token_id),
            comment_id=comment_for,
            error_links={},
            **common(stored, base),
        )

    @app.post("/f/<token>/send")
    def send(token: str) -> Response | Any:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        spec = stored.spec
        nonce = request.form.get("nonce", "")
        if not signer.nonce_ok(nonce, spec.key, stored.token_id):
            # Only the check page's Send button can send: a post without its ticket
            # (a script, a replay, a page from another form) stores nothing.
            return message(
                "Please send from the check page",
                [
                    "Sorry, we could not tell which page this came from, so nothing was "
                    "sent. Your saved answers are safe.",
                    "Please open your link again, go to “Check your answers” and press Send there.",
                ],
                400,
            )
        answers = inbox.draft(spec.key)
        errors = answer_errors(answers, spec.items())
        if errors:
            return page(
                "check.html",
                422,
                page_title="Check your answers",
                answers=answers,
                **layout(spec, answers),
                nonce=nonce,
                comment_id=comment_for,
                errors=check_errors(spec, errors),
                error_links=error_links(spec, base, answers),
                **common(stored, base),
            )
        keep = {i.item_id: answers.get(i.item_id, "") for i in spec.items()}
        try:
            rid, _at, _new = inbox.submit(
                form_key=spec.key,
                person_id=spec.person_id,
                token_id=stored.token_id,
                answers=keep,
                nonce=nonce,
                now=now(),
                per_hour=sends_per_hour,
            )
        except SendLimitReached:
            resp = message(
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
        return redirect(f"{base}/done/{rid}", 303)

    @app.get("/f/<token>/done/<rid>")
    def done(token: str, rid: str) -> Response:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        mine = [r for r in inbox.responses([stored.spec.key]) if r.response_id == rid]
        if not mine:
            abort(404)
        r = mine[0]
        rows = [
            (candidate_label(i.candidate_letter), i.title, r.answers.get(i.item_id, ""))
            for i in stored.spec.scale_items()
        ]
        if stored.spec.question_by_question:
            rows = [
                (candidate_label(i.candidate_letter), sec.title, r.answers.get(i.item_id, ""))
                for sec in stored.spec.sections
                for i in sec.items
                if isinstance(i, ScaleItem)
            ]
        return page(
            "done.html",
            page_title="Your answers are saved"
            if stored.spec.kind == "answers"
            else "Your scores are saved",
            when=_long_time(r.submitted_at, info.tz),
            response_id=rid,
            saved=rows,
            answers=r.answers,
            **common(stored, base),
        )

    @app.errorhandler(404)
    def not_found(_e: Exception) -> Response:
        return message("Page not found", ["Sorry, there is no page here."], 404)

    @app.errorhandler(400)
    def bad_request(_e: Exception) -> Response:
        return message(
            "Sorry, we could not read that",
            ["Please go back and try again. Your saved answers are safe."],
            400,
        )

    @app.errorhandler(405)
    def not_allowed(_e: Exception) -> Response:
        resp = message(
            "This page cannot be opened like that",
            ["Sorry, please open your form with the personal link you were sent."],
            405,
        )
        resp.headers["Allow"] = ", ".join(getattr(_e, "valid_methods", None) or ["GET"])
        return resp

    @app.errorhandler(500)
    def failed(_e: Exception) -> Response:
        return message(
            "Sorry, something went wrong on our side",
            [
                "Your saved answers are safe. Please try again in a few minutes.",
                "If it keeps happening, please tell the recruitment team.",
            ],
            500,
        )

    @app.errorhandler(413)
    def too_big(_e: Exception) -> Response:
        return message(
            "That was too much to save at once",
            ["Please shorten your notes a little and try again."],
            413,
        )

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


def start_server_thread(
    target: Settings | Flask,
    host: str | None = None,
    port: int | None = None,
    threads: int = 8,
) -> RunningServer:
    """Serve the forms with waitress in a background thread (for tests and the runner).

    ``target`` is the settings (serve the configured inbox on the configured host and
    port) or a ready app (port 0 picks any free port).
    """
    if isinstance(target, Settings):
        app = app_for(target)
        host = host or target.org.forms.host
        port = target.org.forms.port if port is None else port
    else:
        app = target
    host = host or "127.0.0.1"
    server = _listen(app, host, port or 0, threads)
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
