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
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from flask import Flask, Response, abort, redirect, render_template, request

from ..config import Settings
from ..transforms.forms import answer_errors, candidate_label
from .base import (
    FormHandle,
    FormSpec,
    ScaleItem,
    comment_item_id,
)
from .base import Response as FormResponse
from .inbox import Inbox, StoredForm
from .pages import PER_PAGE_CHOICES, PER_PAGE_KEY, first_page_of, page_of_item, pages, per_page
from .pages import splits as can_split
from .tokens import BadLink, LinkClaims, LinkSigner, load_secret, new_token_id

Now = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def inbox_path(settings: Settings) -> Path:
    return settings.workspace / "forms" / "inbox.sqlite3"


def base_url(settings: Settings) -> str:
    cfg = settings.org.forms
    return (cfg.public_url or f"http://{cfg.host}:{cfg.port}").rstrip("/")


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
        return f"{self.url}/f/{self.signer.sign(claims)}"

    def ensure_forms(self, specs: Sequence[FormSpec]) -> dict[str, FormHandle]:
        """Store each spec; keep its link while it has more than a quarter of its life
        left, otherwise issue a new one (so a renewed link is sent again)."""
        now = self.now()
        current = self.inbox.forms([s.key for s in specs])
        life = dt.timedelta(days=self.link_days)
        out: list[StoredForm] = []
        for spec in specs:
            old = current.get(spec.key)
            if old is not None and old.expires_at - now > life / 4:
                out.append(StoredForm(spec, old.token_id, old.created_at, old.expires_at))
            else:
                start = now.replace(microsecond=0)
                out.append(StoredForm(spec, new_token_id(), start, start + life))
        if out:
            self.inbox.put_forms(out, now)
        return {
            f.spec.key: FormHandle(f.spec.key, f.token_id, self.link(f), f.created_at, f.expires_at)
            for f in out
        }

    def fetch_responses(
        self, specs: Sequence[FormSpec], since: dt.datetime | None = None
    ) -> list[FormResponse]:
        return self.inbox.responses([s.key for s in specs], since)


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


def _who(letters: list[str]) -> str:
    """'Candidate A' or 'Candidates A, B and C': who is on a page split by candidate."""
    if len(letters) == 1:
        return candidate_label(letters[0])
    core = [x.removeprefix("Candidate ").strip() for x in letters]
    return "Candidates " + ", ".join(core[:-1]) + " and " + core[-1]


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
) -> Flask:
    """The form server. ``templates``: the team's own page templates (their words, say
    for easy read), looked for before corecruit's, as for email templates."""
    info = info or AppInfo()
    package = Path(__file__).parent / "templates"
    app = Flask(__name__, template_folder=str(package))
    if templates is not None and templates.is_dir():
        app.jinja_loader = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(templates)), jinja2.FileSystemLoader(str(package))]
        )
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024

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
            **kw,
        )
        resp = Response(html, status=status, mimetype="text/html")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        return resp

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
            return message(
                "This link is no longer in use",
                [
                    "Sorry, this form has been replaced or closed. If you were sent a newer "
                    "link, please use that one. Otherwise, ask the recruitment team.",
                ],
                410,
            )
        return stored, f"/f/{token}"

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

    @app.get("/")
    def home() -> Response:
        return message(
            "Score forms",
            ["To open your score form, please use the personal link you were sent."],
            200,
        )

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok", mimetype="text/plain")

    @app.get("/f/<token>")
    def start(token: str) -> Response:
        got = open_form(token)
        if isinstance(got, Response):
            return got
        stored, base = got
        last = inbox.latest_submission(stored.spec.key)
        return page(
            "start.html",
            page_title=stored.spec.title,
            last=_long_time(last[1], info.tz) if last else "",
            can_split=can_split(stored.spec),
            choices=PER_PAGE_CHOICES,
            **layout(stored.spec, inbox.draft(stored.spec.key)),
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
        if choice in PER_PAGE_CHOICES:
            answers = inbox.draft(stored.spec.key)
            if answers.get(PER_PAGE_KEY) != choice:
                answers[PER_PAGE_KEY] = choice
                inbox.save_draft(stored.spec.key, answers, now())
        return redirect(f"{base}/1", 303)

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
            posted = {
                i.item_id: request.form.get(i.item_id, "").replace("\r\n", "\n") for i in here.items
            }
            errors = answer_errors(posted, here.items)
            # A value that is not on the scale is never kept; everything else is saved.
            invalid = {k for k in errors if posted.get(k, "").strip()}
            answers.update({k: v for k, v in posted.items() if k not in invalid})
            inbox.save_draft(spec.key, answers, now())
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
            nonce=secrets.token_urlsafe(16),
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
        answers = inbox.draft(spec.key)
        errors = answer_errors(answers, spec.items())
        nonce = request.form.get("nonce", "")[:64] or secrets.token_urlsafe(16)
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
        rid, _at, _new = inbox.submit(
            form_key=spec.key,
            person_id=spec.person_id,
            token_id=stored.token_id,
            answers=keep,
            nonce=nonce,
            now=now(),
        )
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
    return create_app(
        Inbox(inbox_path(settings)),
        LinkSigner(load_secret(settings)),
        info=AppInfo(org.name, org.team_contact, org.timezone),
        now=now,
        templates=settings.path(settings.org.mail.templates) / "forms",
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
    from waitress.server import create_server

    if isinstance(target, Settings):
        app = app_for(target)
        host = host or target.org.forms.host
        port = target.org.forms.port if port is None else port
    else:
        app = target
    host = host or "127.0.0.1"
    server = create_server(
        app, host=host, port=port or 0, threads=threads, clear_untrusted_proxy_headers=True
    )
    t = threading.Thread(target=server.run, name="corecruit-forms", daemon=True)
    t.start()
    return RunningServer(f"http://{host}:{server.effective_port}", server, t)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the forms until stopped (``corecruit forms serve``)."""
    from waitress import serve as waitress_serve

    cfg = settings.org.forms
    waitress_serve(
        app_for(settings),
        host=host or cfg.host,
        port=port or cfg.port,
        threads=8,
        ident="corecruit",
    )


__all__ = [
    "AppInfo",
    "LocalFormsProvider",
    "RunningServer",
    "app_for",
    "create_app",
    "inbox_path",
    "local_provider",
    "serve",
    "start_server_thread",
]
