"""The plain-language report: every question and every template a person reads.

Reads the campaign's questions and criteria, the draft questions in the staff
workbook, every email and print template (the team's own first), the local form
pages (their templates, the score and co-production forms' own words, and the
messages the form server shows, such as an expired link), and the decision pack
template, and reports long sentences, reading ease and jargon. Nothing is changed
or refused: the report is for people to act on. It is also written to
``<workspace>/<campaign>/plain-language.txt``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..context import Context
from ..errors import SheetProblems
from ..mail.render import PACKAGE_TEMPLATES
from ..printing import PRINT_TEMPLATES, write_atomic
from ..transforms.plain_language import Finding, check_text, template_text
from . import JobResult

FORM_PAGES = Path(__file__).resolve().parent.parent / "forms" / "templates"
FORM_SERVER = FORM_PAGES.parent / "local.py"
REPORT_TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"

# Extra texts people read (e.g. form specs) can be added by other modules.
EXTRA_SOURCES: list[object] = []


@dataclass
class PlainResult(JobResult):
    findings: list[Finding] = field(default_factory=list)
    report: Path | None = None


def _templates(ctx: Context) -> dict[str, str]:
    """Template name -> source, the team's folder winning over corecruit's own."""
    out: dict[str, str] = {}
    team = ctx.settings.path(ctx.settings.org.mail.templates)
    for folder in (PACKAGE_TEMPLATES, PRINT_TEMPLATES, team):
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*.j2")):
            if p.name.startswith("_") or p.name == "base.html.j2":
                continue
            out[p.relative_to(folder).as_posix()] = p.read_text(encoding="utf-8")
    # The local form pages (partials too: error and check-your-answers text) and the
    # decision pack, under their folder's name so a team template cannot hide them.
    for label, folder, pattern in (
        ("forms", FORM_PAGES, "*.html"),
        ("reports", REPORT_TEMPLATES, "*.j2"),
    ):
        for p in sorted(folder.rglob(pattern)):
            out[f"{label}/{p.relative_to(folder).as_posix()}"] = p.read_text(encoding="utf-8")
    return out


def _strings(node: ast.AST) -> list[str]:
    """The literal text in a call argument (strings, lists of them, f-string parts)."""
    out: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
    return out


def _form_messages() -> list[tuple[str, str]]:
    """The messages the local form server shows (expired or broken links, closed forms):
    the literal title and paragraphs of each ``message(...)`` call in its source."""
    tree = ast.parse(FORM_SERVER.read_text(encoding="utf-8"))
    out = []
    for n in ast.walk(tree):
        if (
            isinstance(n, ast.Call)
            # message(...) or self.message(...): the server's pages are methods
            and (
                getattr(n.func, "id", None) == "message"
                or getattr(n.func, "attr", None) == "message"
            )
            and len(n.args) >= 2
        ):
            title = " ".join(_strings(n.args[0])).strip()
            body = " ".join(_strings(n.args[1])).strip()
            if title or body:
                out.append((f"form page message '{title}'", f"{title}.\n\n{body}"))
    return out


def _form_texts(ctx: Context) -> list[tuple[str, str]]:
    """What people read on the co-production forms (the same for everyone)."""
    from ..forms.base import FormSpec
    from ..transforms import coprod_forms as cf
    from ..transforms import expense_forms as ef
    from ..transforms import forms as sf

    drafts = [{"draft_id": "d1", "text": "", "criteria": ""}]
    specs: list[FormSpec] = [
        cf.interest_spec(ctx.campaign, "p", {}),
        cf.questions_spec(ctx.campaign, "p", drafts),
        cf.feedback_spec(ctx.campaign, "p"),
        ef.expense_spec(ctx.campaign, "p", ctx.settings.org.rewards),
    ]
    # The score forms' own words (headings, guidance, scale), without any answers.
    if ctx.campaign.criteria:
        specs.append(sf.shortlisting_spec(ctx.campaign, "p", [sf.Candidate("A", {})]))
    if ctx.campaign.questions:
        scorer = sf.Scorer("p", "mixed", "panel member")
        specs.append(sf.interview_spec(ctx.campaign, scorer, ["A"]))
    out = []
    for spec in specs:
        parts = [spec.title + ".", spec.intro]
        for sec in spec.sections:
            parts += [sec.title + ".", sec.description]
            for item in sec.items:
                parts.append(getattr(item, "legend", "") or item.title)
        out.append((f"form {spec.stage}", "\n\n".join(p for p in parts if p)))
    return out


def plain_job(ctx: Context, extra: Iterable[tuple[str, str]] = ()) -> PlainResult:
    res = PlainResult(job="plain language")
    jargon = list(ctx.settings.org.jargon)
    texts: list[tuple[str, str]] = []
    for q in ctx.campaign.questions:
        texts.append((f"question {q.id}", q.text))
    for c in ctx.campaign.criteria:
        texts.append((f"criterion {c.id}", c.text))
    try:
        drafts = ctx.stores.staff.read_one("question_drafts", errors="collect")
        res.api_calls += 1
        for _, d in drafts.iterrows():
            texts.append((f"draft {d['draft_id']}", str(d["agreed_text"] or d["text"])))
    except SheetProblems:
        res.attention.append("The Question drafts tab is missing; run 'corecruit init'.")
    for name, src in _templates(ctx).items():
        texts.append((f"template {name}", template_text(src)))
    texts.extend(_form_texts(ctx))
    texts.extend(_form_messages())
    for fn in EXTRA_SOURCES:
        texts.extend(fn(ctx))  # type: ignore[operator]
    texts.extend(extra)
    res.findings = [check_text(where, text, jargon) for where, text in texts if text.strip()]
    lines = []
    for f in res.findings:
        lines.extend(f.lines())
    to_look = [f for f in res.findings if not f.ok]
    path = ctx.settings.workspace / ctx.campaign.id / "plain-language.txt"
    write_atomic(
        path,
        "Plain-language report (sentences over 20 words, reading ease under 60, jargon).\n"
        "It is a prompt to look again, not a rule.\n\n" + "\n".join(lines) + "\n",
    )
    res.report = path
    res.rows_read = len(res.findings)
    res.detail = (
        f"{len(res.findings)} texts checked, {len(to_look)} worth another look; report in {path}"
    )
    return res
