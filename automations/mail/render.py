"""Turning a planned message into an email: Jinja2 templates, plain text and simple HTML.

Templates live in ``automations/mail/templates/``. A team can override any of them
(or the shared ``_macros.j2``) by putting a file with the same name in the folder
named by ``[mail] templates`` (``config/templates`` by default): that folder is
checked first.

Each template is plain text. Its first line is ``Subject: …``. Paragraphs are
separated by blank lines; a line underlined with dashes is a heading; lines that
start with ``- `` or ``1. `` are lists. The HTML part is made from the same text
(headings, paragraphs, lists, links) so both always say the same thing; a team
that wants its own HTML can add ``<name>.html.j2``, which gets the same variables
plus ``body_html`` (values in ``.html.j2`` templates are escaped). Easy read
variants are ``<name>.easyread.txt.j2``; people who asked for large print get a
bigger font in the HTML. Templates may sit in sub-folders (``rewards/statement``);
a team overrides those with the same sub-folder in its own folder.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from ..config import Settings
from ..errors import ConfigError
from ..transforms.ics import CalendarEvent, calendar

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
# A link ends at whitespace, a quote or an angle bracket, so text a person wrote after it
# (a People introduction, a preferred name) can never become part of the link.
_URL = re.compile(
    r"((?:https?://|mailto:)[^\s<>\"'()]+[^\s<>\"'().,;:!?])|([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    re.IGNORECASE,
)
LINK_SCHEMES = ("http", "https", "mailto")
# Saved letters are opened in a browser from disk: nothing in them may run or load.
LETTER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    "form-action 'none'; base-uri 'none'"
)
_DASHES = re.compile(r"^-{3,}$")
_BULLET = re.compile(r"^[-*] (.*)$")
_NUMBER = re.compile(r"^(\d+)\. (.*)$")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _linkify(text: str) -> str:
    """``text`` escaped for HTML (quotes too), with http, https and mailto links made links.

    Works on the raw text and escapes each piece, so no value a person typed can end an
    attribute; any other scheme (``javascript:``, ``data:``) stays plain text.
    """
    out: list[str] = []
    last = 0
    for m in _URL.finditer(text):
        url = m.group(1) or f"mailto:{m.group(2)}"
        if url.partition(":")[0].lower() not in LINK_SCHEMES:
            continue
        shown = html.escape(m.group(0), quote=True)
        out.append(html.escape(text[last : m.start()], quote=True))
        out.append(f'<a href="{html.escape(url, quote=True)}">{shown}</a>')
        last = m.end()
    out.append(html.escape(text[last:], quote=True))
    return "".join(out)


def letter_page(page: str) -> str:
    """A letter's HTML for saving to disk, with a restrictive Content-Security-Policy.

    Staff open saved letters in a browser; the policy stops anything in them from
    running or loading, whatever a template or a value in it says.
    """
    meta = f'<meta http-equiv="Content-Security-Policy" content="{LETTER_CSP}">'
    head = re.search(r"<head\b[^>]*>", page, re.IGNORECASE)
    if head:
        return page[: head.end()] + "\n" + meta + page[head.end() :]
    doctype = re.match(r"\s*<!DOCTYPE[^>]*>", page, re.IGNORECASE)
    at = doctype.end() if doctype else 0
    return page[:at] + f"\n<head>{meta}</head>\n" + page[at:]


_ONLY_URL = re.compile(r"https?://[^\s<>\"']+")
# The address under a link's words: it may break anywhere, so it never widens the page.
_WRAP = "overflow-wrap:anywhere;word-break:break-all"


def _link_words(lines: list[str], esc: list[str]) -> list[str]:
    """A line of words ending in ':' with an address alone on the next line (the
    ``link`` macro): the words become the link, and the address is shown below as
    text that wraps, so a screen reader reads the words, not a 200-character token."""
    out = list(esc)
    for i in range(len(lines) - 1):
        words, url = lines[i], lines[i + 1]
        if words.endswith(":") and len(words) > 1 and _ONLY_URL.fullmatch(url):
            href = html.escape(url, quote=True)
            text = html.escape(words[:-1], quote=False)
            out[i] = f'<a href="{href}" style="font-weight:bold">{text}</a>'
            out[i + 1] = f'<span style="{_WRAP}">{html.escape(url, quote=False)}</span>'
    return out


def _line_kind(line: str) -> tuple[str, str]:
    """('ul' | 'ol' | 'p', text) for one line of a template's body."""
    if m := _BULLET.match(line):
        return "ul", m.group(1)
    if m := _NUMBER.match(line):
        return "ol", m.group(2)
    return "p", line


def text_to_html(text: str) -> str:
    """The body as simple, accessible HTML: headings, paragraphs, lists and links.

    Font size is set once on the page (``base.html.j2``), bigger for large print.
    """
    h2 = '<h2 style="font-size:1.3em;margin:1.2em 0 0.4em">'
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        groups: list[tuple[str, list[str]]] = []  # consecutive lines of the same kind
        i = 0
        while i < len(lines):
            if i + 1 < len(lines) and _DASHES.match(lines[i + 1]):
                groups.append(("h2", [lines[i]]))
                i += 2
                continue
            kind, body = _line_kind(lines[i])
            if groups and groups[-1][0] == kind and kind != "h2":
                groups[-1][1].append(body)
            else:
                groups.append((kind, [body]))
            i += 1
        for kind, parts in groups:
            esc = [_linkify(x) for x in parts]
            if kind == "h2":
                out.append(f"{h2}{esc[0]}</h2>")
            elif kind == "p":
                esc = _link_words(parts, esc)
                out.append("<p>" + "<br>\n".join(esc) + "</p>")
            else:
                out.append(f"<{kind}>" + "".join(f"<li>{x}</li>" for x in esc) + f"</{kind}>")
    return "\n".join(out)


class Renderer:
    """Finds and renders templates, the team's folder first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        team = settings.path(settings.org.mail.templates)
        loaders: list[jinja2.BaseLoader] = []
        if team.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(team)))
        loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Text is sent as written; HTML templates escape every value they print.
            autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        )
        self.team_folder = team
        self._names: set[str] | None = None

    def exists(self, name: str) -> bool:
        if self._names is None:
            self._names = set(self.env.list_templates())
        return name in self._names

    def _pick(self, template: str, easy_read: bool, ext: str) -> str | None:
        names = ([f"{template}.easyread.{ext}.j2"] if easy_read else []) + [f"{template}.{ext}.j2"]
        for n in names:
            if self.exists(n):
                return n
        return None

    def render(self, template: str, context: dict[str, Any]) -> Rendered:
        """Subject, text and HTML for ``template``; a missing value is an error, not a gap."""
        name = self._pick(template, bool(context.get("easy_read")), "txt")
        if name is None:
            raise ConfigError(
                str(self.team_folder),
                template,
                f"no email template '{template}.txt.j2' here or in corecruit",
            )
        try:
            raw = self.env.get_template(name).render(**context)
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                name, None, f"the template uses a value that is not there: {exc}"
            ) from None
        except jinja2.TemplateError as exc:
            raise ConfigError(name, None, f"the template has a mistake: {exc}") from None
        first, _, body = raw.lstrip("\n").partition("\n")
        if not first.startswith("Subject:"):
            raise ConfigError(name, None, "the first line of a template must be 'Subject: …'")
        subject = " ".join(first[len("Subject:") :].split())
        body = re.sub(r"\n{3,}", "\n\n", body.strip("\n")) + "\n"
        body_html = Markup(text_to_html(body))  # already escaped, line by line
        html_name = self._pick(template, bool(context.get("easy_read")), "html")
        layout = html_name or "base.html.j2"
        page = self.env.get_template(layout).render(**context, subject=subject, body_html=body_html)
        return Rendered(subject, body, page)


def build_email(
    settings: Settings,
    rendered: Rendered,
    *,
    to: str,
    cc: str = "",
    msgid: str,
    now: dt.datetime,
    events: list[CalendarEvent] | None = None,
    method: str = "REQUEST",
    key: str = "",
) -> EmailMessage:
    """A multipart email (plain text + HTML), with an .ics invitation when there is one."""
    mail = settings.org.mail
    tz = settings.org.organisation.timezone
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Date"] = format_datetime(now.replace(tzinfo=ZoneInfo(tz)) if now.tzinfo is None else now)
    msg["Message-ID"] = msgid
    msg["Auto-Submitted"] = "auto-generated"
    if key:
        msg["X-Corecruit-Key"] = key
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    if events:
        ics = calendar(
            events,
            tz=tz,
            organiser=mail.from_address,
            organiser_name=mail.from_name,
            method=method,
            stamp=now.replace(tzinfo=ZoneInfo(tz)),
        )
        msg.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="invitation.ics" if method != "CANCEL" else "cancelled.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return msg
