"""Google Forms API calls: corecruit's Google Forms backend against naive baselines.

Counted by the local Google emulator (tests/google_emulator), through the real
googleapiclient, in the same run:

* making forms: corecruit (look in Drive, create, ONE batchUpdate with every item,
  open to responses) against a naive build (create, then one batchUpdate per item);
  and a rerun, which should cost nothing;
* reading answers: ``fetch_responses`` (responses.list, 5000 a page) against a naive
  read (list the ids 100 at a time, then responses.get for each);
* a shortlisting form at 50, 100 and 500 applications (4 criteria, an anonymised
  answer of about 700 characters each, "I can't score this one" on every score): split
  into parts of 25 candidates, each its own form; the largest request; the calls to
  make it, to make it again, and to read it with 1 or 10 responses to every part.

Run: ``.venv/bin/python bench/gforms_calls.py``
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.oauth2.credentials import Credentials  # noqa: E402

from automations.forms.base import (  # noqa: E402
    CommentItem,
    FormSpec,
    ScaleItem,
    ScalePoint,
    Section,
    comment_item_id,
    score_item_id,
)
from automations.forms.google import NEEDED_SCOPES, GoogleFormsProvider  # noqa: E402
from automations.google.http import RetryPolicy, build_service  # noqa: E402
from tests.google_emulator.core import Emulator  # noqa: E402
from tests.google_emulator.forms import submit_response  # noqa: E402
from tests.google_emulator.transport import emulator_session  # noqa: E402

POINTS = tuple(ScalePoint(v, "") for v in range(5))
ANSWER = (
    "I have supported people in my community for many years. I listen first, I do not "
    "judge, and I have learnt to ask what a person wants rather than tell them. "
) * 4


def letter(n: int) -> str:
    out, n = "", n + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def shortlisting(person: str, applications: int, criteria: int = 4) -> FormSpec:
    """Question by question, as the campaign's shortlisting form: a page per criterion."""
    letters = [letter(n) for n in range(applications)]
    sections = []
    for c in range(1, criteria + 1):
        items: list[Any] = []
        for x in letters:
            items.append(
                ScaleItem(
                    score_item_id(x, f"c{c}"),
                    x,
                    f"c{c}",
                    f"Candidate {x}",
                    POINTS,
                    context=f"{ANSWER}({x}, c{c})",
                    cant_score=True,
                )
            )
            items.append(CommentItem(comment_item_id(x, f"c{c}"), x, f"c{c}", "Notes (optional)"))
        sections.append(Section(f"criterion-c{c}", f"Criterion {c}", "", tuple(items)))
    return FormSpec(
        key=f"bench.shortlisting.{person}",
        campaign_id="bench",
        stage="shortlisting",
        person_id=person,
        title="Shortlisting",
        intro="Thank you.",
        sections=tuple(sections),
        candidate_order=tuple(letters),
    )


def split_rows(tmp: str) -> list[tuple[int, int, int, int, int, int, int, int]]:
    """(applications, parts, items a part, largest request, make, rerun, read 1, read 10)."""
    rows = []
    for apps in (50, 100, 500):
        emu = Emulator().start()
        try:
            forms, drive = services(emu)
            s = shortlisting("p01", apps)
            provider = GoogleFormsProvider(forms, drive, Path(tmp) / f"split-{apps}")
            emu.capture = True
            emu.reset_counts()
            handle = provider.ensure_forms([s])[s.key]
            make = emu.calls()
            biggest = max(len(b) for name, _q, b in emu.captured if name.endswith("batchUpdate"))
            emu.capture = False
            emu.reset_counts()
            provider.ensure_forms([s])
            rerun = emu.calls()
            parts = handle.parts or ()
            ids = [p.form_id for p in parts] or [handle.form_id]
            reads = []
            t0 = dt.datetime(2027, 1, 26, 9, tzinfo=dt.UTC)
            for n_resp in (1, 10):
                for fid in ids:
                    form = emu.state("forms")["forms"][fid]["form"]
                    answers = {
                        i["questionItem"]["question"]["questionId"]: "2"
                        for i in form["items"]
                        if "questionItem" in i and "choiceQuestion" in i["questionItem"]["question"]
                    }
                    while len(emu.state("forms")["forms"][fid]["responses"]) < n_resp:
                        submit_response(emu, fid, answers, when=t0)
                emu.reset_counts()
                got = provider.fetch_responses([s])
                assert len(got) == n_resp * len(ids)
                reads.append(emu.calls())
            items = len(emu.state("forms")["forms"][ids[0]]["form"]["items"])
            rows.append((apps, len(ids), items, biggest, make, rerun, reads[0], reads[1]))
        finally:
            emu.stop()
    return rows


def spec(person: str, letters: int = 6, questions: int = 6) -> FormSpec:
    sections = []
    for n in range(letters):
        letter = chr(ord("A") + n)
        items: list[Any] = []
        for q in range(1, questions + 1):
            items.append(
                ScaleItem(score_item_id(letter, f"q{q}"), letter, f"q{q}", f"Question {q}", POINTS)
            )
            items.append(
                CommentItem(comment_item_id(letter, f"q{q}"), letter, f"q{q}", "Notes (optional)")
            )
        sections.append(Section(f"candidate-{letter}", f"Candidate {letter}", "", tuple(items)))
    return FormSpec(
        key=f"bench.interview.{person}",
        campaign_id="bench",
        stage="interview",
        person_id=person,
        title="Interview scores",
        intro="Thank you.",
        sections=tuple(sections),
    )


def services(emu: Emulator) -> tuple[Any, Any]:
    creds = Credentials(emu.issue_token(scopes=NEEDED_SCOPES))
    policy = RetryPolicy(sleep=lambda s: None)
    session = emulator_session(emu)
    return (
        build_service("forms", "v1", creds, session, policy),
        build_service("drive", "v3", creds, session, policy),
    )


def naive_build(forms: Any, s: FormSpec) -> None:
    form = forms.forms().create(body={"info": {"title": s.title}}).execute()
    for n, item in enumerate(s.items()):
        q: dict[str, Any] = (
            {"scaleQuestion": {"low": 0, "high": 4}}
            if isinstance(item, ScaleItem)
            else {"textQuestion": {"paragraph": True}}
        )
        body = {
            "requests": [
                {
                    "createItem": {
                        "item": {"title": item.title, "questionItem": {"question": q}},
                        "location": {"index": n},
                    }
                }
            ]
        }
        forms.forms().batchUpdate(formId=form["formId"], body=body).execute()


def naive_read(forms: Any, form_id: str) -> int:
    got, token = 0, None
    while True:
        page = (
            forms.forms().responses().list(formId=form_id, pageSize=100, pageToken=token).execute()
        )
        for r in page.get("responses", []):
            forms.forms().responses().get(formId=form_id, responseId=r["responseId"]).execute()
            got += 1
        token = page.get("nextPageToken")
        if not token:
            return got


def main() -> None:
    rows_make, rows_read = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n_forms in (1, 6, 12):
            emu = Emulator().start()
            try:
                forms, drive = services(emu)
                specs = [spec(f"p{i:02d}") for i in range(n_forms)]
                provider = GoogleFormsProvider(forms, drive, Path(tmp) / f"state-{n_forms}")
                emu.reset_counts()
                provider.ensure_forms(specs)
                ours = emu.calls()
                emu.reset_counts()
                provider.ensure_forms(specs)
                rerun = emu.calls()
                emu.reset_counts()
                for s in specs:
                    naive_build(forms, s)
                naive = emu.calls()
                items = len(specs[0].items())
                rows_make.append((n_forms, items, ours, rerun, naive))
            finally:
                emu.stop()
        for n_resp in (10, 100, 1000, 5000):
            emu = Emulator().start()
            try:
                forms, drive = services(emu)
                s = spec("p01", letters=2, questions=3)
                provider = GoogleFormsProvider(forms, drive, Path(tmp) / f"read-{n_resp}")
                fid = provider.ensure_forms([s])[s.key].form_id
                qids = [
                    i["questionItem"]["question"]["questionId"]
                    for i in emu.state("forms")["forms"][fid]["form"]["items"]
                    if "questionItem" in i and "scaleQuestion" in i["questionItem"]["question"]
                ]
                t0 = dt.datetime(2027, 1, 26, 9, tzinfo=dt.UTC)
                for n in range(n_resp):
                    submit_response(
                        emu,
                        fid,
                        dict.fromkeys(qids, n % 5),
                        when=t0 + dt.timedelta(seconds=n),
                    )
                emu.reset_counts()
                got = provider.fetch_responses([s])
                ours = emu.calls()
                assert len(got) == n_resp
                emu.reset_counts()
                assert naive_read(forms, fid) == n_resp
                rows_read.append((n_resp, ours, emu.calls()))
            finally:
                emu.stop()
        rows_split = split_rows(tmp)
    print("Making forms (items per form; calls)")
    print()
    print("| forms | items each | corecruit | rerun | naive (1 batchUpdate per item) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, items, ours, rerun, naive in rows_make:
        print(f"| {n} | {items} | {ours} | {rerun} | {naive} | {naive / ours:.0f}x |")
    print()
    print("Reading answers from one form (calls)")
    print()
    print("| responses | corecruit | naive (list 100 a page + get each) | ratio |")
    print("|---:|---:|---:|---:|")
    for n, ours, naive in rows_read:
        print(f"| {n} | {ours} | {naive} | {naive / ours:.0f}x |")
    print()
    print("A shortlisting form split into parts of 25 candidates (calls; bytes)")
    print()
    print(
        "| applications | parts | items a part | largest request | make | rerun "
        "| read, 1 response a part | read, 10 a part |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for apps, parts, items, big, make, rerun, r1, r10 in rows_split:
        print(f"| {apps} | {parts} | {items} | {big:,} | {make} | {rerun} | {r1} | {r10} |")


if __name__ == "__main__":
    main()
