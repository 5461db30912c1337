"""Google Forms people can complete (issues 18 and 19), on the emulator through googleapiclient:
a large shortlisting form split into parts (each its own form and link, every request
under 2 MB), "I can't score this one" on each score question, and Drive's search lag."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from google.oauth2 import service_account

from automations.config import load_settings
from automations.context import Context
from automations.forms import google as gforms
from automations.forms.base import ScaleItem
from automations.forms.google import NEEDED_SCOPES, FormState, google_provider, plan_parts
from automations.google.http import RetryPolicy
from automations.transforms.forms import Candidate, shortlisting_spec
from tests.google_emulator.core import TEAM_ACCOUNT, Emulator
from tests.google_emulator.forms import form_state, forms, submit_response

T0 = dt.datetime(2027, 1, 26, 14, 0, tzinfo=dt.UTC)
ANSWER = (
    "I have supported people in my community for many years. I listen first, I do not "
    "judge, and I have learnt to ask what a person wants rather than tell them. "
)


@pytest.fixture
def gctx(ctx: Context, google_transport: requests.Session, google_key_file: Path) -> Context:
    ctx.extras["google_transport"] = google_transport
    ctx.extras["google_credentials"] = service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=list(NEEDED_SCOPES), subject=TEAM_ACCOUNT
    )
    ctx.extras["google_retry"] = RetryPolicy(max_attempts=5, max_seconds=60, sleep=lambda s: None)
    return ctx


@pytest.fixture
def lagging(google_emulator: Emulator) -> Emulator:
    """Drive's search misses every file made during the test (files.get still sees it)."""
    google_emulator.search_lag = 3600.0
    return google_emulator


def letter(n: int) -> str:
    """A, B, ... Z, AA, AB, ...: letters as the candidate key gives them."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def candidates(ctx: Context, n: int, start: int = 0) -> list[Candidate]:
    crit = [c.id for c in ctx.campaign.criteria]
    return [
        Candidate(letter(i), {c: f"{ANSWER * 3} ({letter(i)}, {c})" for c in crit})
        for i in range(start, start + n)
    ]


def state_of(ctx: Context) -> dict[str, Any]:
    """The forms' records and parts, as the campaign's ledger holds them."""
    state = FormState(ctx.settings.workspace / ctx.campaign.id)
    return {"forms": state.forms, "parts": state.parts}


def qids(ctx: Context, emu: Emulator, key: str) -> dict[str, str]:
    """item id -> Google question id of one form (one part), from the state file."""
    entry = state_of(ctx)["forms"][key]
    form = form_state(emu, entry["form_id"])
    have = {
        i["questionItem"]["question"]["questionId"] for i in form["items"] if "questionItem" in i
    }
    return {item: q for q, item in entry["questions"].items() if q in have}


def letters_on(emu: Emulator, form_id: str) -> set[str]:
    form = form_state(emu, form_id)
    titles = [i["title"] for i in form["items"] if "questionItem" in i]
    return {t.removeprefix("Candidate ") for t in titles if not t.startswith("Your notes")}


# ------------------------------------------------------------------ split


def test_plan_parts_keeps_everyone_where_they_are_and_adds_late_ones_at_the_end() -> None:
    assert plan_parts("EDCBA", [], 2) == [["A", "B"], ["C", "D"], ["E"]]
    assert plan_parts(["AA", "B", "Z"], [], 2) == [["B", "Z"], ["AA"]]  # letter order
    # a late F joins the last part while it has room; G starts a new one; nobody moves
    assert plan_parts("ABCDEF", [["A", "B"], ["C", "D"], ["E"]], 2) == [
        ["A", "B"],
        ["C", "D"],
        ["E", "F"],
    ]
    assert plan_parts("ABCDEFG", [["A", "B"], ["C", "D"], ["E", "F"]], 2)[-1] == ["G"]
    # a withdrawn candidate keeps their place (their answers are on that form)
    assert plan_parts("ACD", [["A", "B"], ["C", "D"]], 2) == [["A", "B"], ["C", "D"]]


def test_500_applications_make_parts_people_can_complete_with_every_request_under_2_mb(
    gctx: Context, ctx: Context, google_emulator: Emulator
) -> None:
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 500))
    google_emulator.capture = True
    handle = google_provider(gctx).ensure_forms([spec])[spec.key]
    sizes = [len(b) for name, _q, b in google_emulator.captured if name.endswith("batchUpdate")]
    whole = sum(sizes)
    assert whole > 2_000_000  # all of it in one form would be one request over the limit
    assert max(sizes) < 2_000_000 and max(sizes) < whole / 15  # each part is small
    parts = handle.parts
    assert [(p.number, p.of) for p in parts] == [(n, 20) for n in range(1, 21)]
    assert parts[0].label == "Part 1 of 20: Candidates A to Y"
    assert parts[-1].label == "Part 20 of 20: Candidates RH to SF"
    assert (handle.form_id, handle.url) == (parts[0].form_id, parts[0].url)
    assert len({p.form_id for p in parts}) == len({p.url for p in parts}) == 20
    assert len(forms(google_emulator)) == 20
    seen: set[str] = set()
    for p in parts:
        form = form_state(google_emulator, p.form_id)
        assert form["responderUri"] == p.url
        on = letters_on(google_emulator, p.form_id)
        assert on == set(p.letters) and len(on) == 25 and not on & seen
        seen |= on
        assert form["info"]["description"].startswith(f"Part {p.number} of 20: Candidates ")
        questions = [i for i in form["items"] if "questionItem" in i]
        assert len(questions) == 25 * len(ctx.campaign.criteria) * 2
    assert seen == set(spec.candidate_order)
    # the calls grow with the parts (people and candidates/25), never with items or rows
    calls = google_emulator.counts("forms.forms")
    assert calls == {"forms.forms.batchUpdate": 20, "forms.forms.setPublishSettings": 20}
    google_emulator.reset_counts()
    assert google_provider(gctx).ensure_forms([spec])[spec.key] == handle
    assert google_emulator.calls() == 0  # a rerun with nothing new costs nothing


def test_large_print_and_easy_read_get_smaller_parts(gctx: Context, ctx: Context) -> None:
    cands = candidates(ctx, 30)
    easy = shortlisting_spec(ctx.campaign, "p03", cands, "easy read")
    big = shortlisting_spec(ctx.campaign, "p04", cands, "large print")
    usual = shortlisting_spec(ctx.campaign, "p05", cands)
    handles = google_provider(gctx).ensure_forms([easy, big, usual])
    assert [len(p.letters) for p in handles[easy.key].parts] == [10, 10, 10]
    assert [len(p.letters) for p in handles[big.key].parts] == [10, 10, 10]
    assert [len(p.letters) for p in handles[usual.key].parts] == [25, 5]


def test_a_late_candidate_joins_the_last_part_then_a_new_one_and_no_answer_is_lost(
    gctx: Context, ctx: Context, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(gforms.PART_CANDIDATES, "standard", 2)
    provider = google_provider(gctx)
    five = candidates(ctx, 5)
    spec = shortlisting_spec(ctx.campaign, "p03", five)
    parts = provider.ensure_forms([spec])[spec.key].parts
    assert [sorted(p.letters) for p in parts] == [["A", "B"], ["C", "D"], ["E"]]
    # every part answered, none collected yet
    for p in parts:
        key = gforms.part_key(spec.key, p.number)
        submit_response(
            google_emulator, p.form_id, dict.fromkeys(qids(ctx, google_emulator, key).values(), "2")
        )
    before = {
        fid: json.dumps(e["responses"], sort_keys=True, default=str)
        for fid, e in forms(google_emulator).items()
    }

    six = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 6))  # F, late
    after = provider.ensure_forms([six])[six.key].parts
    assert [p.form_id for p in after] == [p.form_id for p in parts]  # no new form
    assert sorted(after[-1].letters) == ["E", "F"] and letters_on(
        google_emulator, after[-1].form_id
    ) == {"E", "F"}
    seven = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 7))  # G: a part of its own
    latest = provider.ensure_forms([seven])[seven.key].parts
    assert [p.form_id for p in latest[:3]] == [p.form_id for p in parts]
    assert len(latest) == 4 and latest[3].letters == ("G",)
    assert latest[3].label == "Part 4 of 4: Candidate G"
    # nothing answered was deleted: every response still holds every answer it had
    now = {
        fid: json.dumps(e["responses"], sort_keys=True, default=str)
        for fid, e in forms(google_emulator).items()
    }
    assert {fid: now[fid] for fid in before} == before
    got = provider.fetch_responses([seven])
    assert len(got) == 3 and {r.form_key for r in got} == {seven.key}
    scored = {i.split("__")[1] for r in got for i, v in r.answers.items() if v == "2"}
    assert scored == {"A", "B", "C", "D", "E"}
    # the parts are recorded with the forms, so a new run finds the same ones
    assert state_of(gctx)["parts"][seven.key] == [["A", "B"], ["C", "D"], ["E", "F"], ["G"]]
    google_emulator.reset_counts()
    assert google_provider(gctx).ensure_forms([seven])[seven.key].parts == latest
    assert google_emulator.calls() == 0


def test_a_reordered_or_forwarded_part_maps_answers_by_question_not_position(
    gctx: Context, ctx: Context, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(gforms.PART_CANDIDATES, "standard", 2)
    provider = google_provider(gctx)
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 4))
    second = provider.ensure_forms([spec])[spec.key].parts[1]
    key = gforms.part_key(spec.key, 2)
    q = qids(ctx, google_emulator, key)
    # someone moves the last question to the top of part 2 by hand
    e = forms(google_emulator)[second.form_id]
    e["form"]["items"].insert(0, e["form"]["items"].pop())
    e["revision"] += 1
    scores = {i: str(n % 5) for n, i in enumerate(sorted(q)) if i.startswith("score__")}
    # ...and the link is forwarded: whoever opens it, the answers are p03's part 2
    submit_response(
        google_emulator,
        second.form_id,
        {q[i]: v for i, v in scores.items()},
        respondent="someone.else@example.org",
        when=T0,
    )
    (r,) = provider.fetch_responses([spec])
    assert (r.form_key, r.person_id) == (spec.key, "p03")
    assert {i: v for i, v in r.answers.items() if v} == scores
    assert {i.split("__")[1] for i in scores} == {"C", "D"}


# ------------------------------------------------------------ the jobs


def google_backend(gctx: Context, config_dir: Path) -> None:
    org = config_dir / "organisation.toml"
    text = org.read_text().replace(
        'backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit', 1
    )
    org.write_text(text)
    gctx.settings = load_settings(config_dir)


def test_push_emails_each_part_in_order_and_collect_reads_every_part_and_cant_score(
    gctx: Context, config_dir: Path, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.jobs.forms import collect_job, current_specs, push_job
    from tests.forms_support import exceptions, links, raw_scores, seed_candidates
    from tests.remind_support import by_key, outbox, text_of

    for fmt in ("standard", "large print", "easy read"):
        monkeypatch.setitem(gforms.PART_CANDIDATES, fmt, 2)
    google_backend(gctx, config_dir)
    seed_candidates(gctx)  # six applications: A to F
    push_job(gctx)
    staff = gctx.stores.staff
    staff.forget()
    frames = staff.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    specs = {s.person_id: s for s in current_specs(gctx, frames)}
    state = state_of(gctx)
    msgs = by_key(outbox(gctx))
    assert msgs
    for key, m in msgs.items():
        pid = key.split("|")[1]
        body = text_of(m)
        urls = [state["forms"][gforms.part_key(specs[pid].key, n)]["url"] for n in (1, 2, 3)]
        where = [body.index(u) for u in urls]
        assert where == sorted(where)  # each part's link, in order
        for n, (a, b) in enumerate([("A", "B"), ("C", "D"), ("E", "F")], 1):
            assert f"Part {n} of 3: Candidates {a} to {b}:\n{urls[n - 1]}" in body
        assert links(gctx)[(pid, "shortlisting")] == urls[0]  # form_links: part 1's link
    # ... and every part's link, in order, for staff who pass links on another way: one
    # row per person and stage still (its key unchanged), the parts in "All parts"
    tab = staff.read_one("form_links", refresh=True)
    rows = tab[tab["stage"].astype(str) == "shortlisting"]
    assert len(rows) == len(set(rows["person_id"])) == len(specs)
    for _, row in rows.iterrows():
        pkeys = [gforms.part_key(specs[row["person_id"]].key, n) for n in (1, 2, 3)]
        assert row["parts"].split("\n") == [
            f"Part {n} of 3, Candidates {a} to {b}: {state['forms'][k]['url']}"
            for n, (a, b), k in zip((1, 2, 3), ["AB", "CD", "EF"], pkeys, strict=True)
        ]
    assert not any(tab[tab["stage"].astype(str) == "interview"]["parts"].astype(str).str.strip())

    # p01 answers part 1 and part 3; one answer is "I can't score this one"
    spec = specs["p01"]
    answered: dict[str, str] = {}
    for n in (1, 3):
        pkey = gforms.part_key(spec.key, n)
        q = qids(gctx, google_emulator, pkey)
        items = [i for i in spec.scale_items() if i.item_id in q]
        ans = {i.item_id: "3" for i in items}
        if n == 3:
            ans[items[0].item_id] = "I can't score this one (a conflict of interest)"
        answered.update(ans)
        submit_response(
            google_emulator,
            state["forms"][pkey]["form_id"],
            {q[i]: v for i, v in ans.items()},
            when=T0 + dt.timedelta(minutes=n),
        )
    google_emulator.reset_counts()
    collect_job(gctx)
    n_forms = len(state["forms"])
    assert google_emulator.counts() == {"forms.forms.responses.list": n_forms}  # one per part
    raw = raw_scores(gctx)
    assert set(raw["person_id"]) == {"p01"} and len(raw) == len(answered)
    assert set(raw["candidate_letter"]) == {"A", "B", "E", "F"}
    cant = raw[raw["cant_score"].astype(str) != ""]
    assert len(cant) == 1 and cant["cant_score"].tolist() == ["a conflict of interest"]
    assert cant["score"].isna().all()  # missing, never zero
    declined = next(i for i, v in answered.items() if v.startswith("I can't"))
    assert cant["candidate_letter"].tolist() == [declined.split("__")[1]]
    exc = exceptions(gctx)
    why = [r for r in exc["reason"].astype(str) if "could not score" in r]
    assert (
        len(why) == 1 and "(a conflict of interest)" in why[0] and "not counted as zero" in why[0]
    )
    collect_job(gctx)
    assert len(raw_scores(gctx)) == len(answered)  # collected twice, kept once


def test_cant_score_is_a_choice_on_each_google_score_question(
    gctx: Context, ctx: Context, google_emulator: Emulator
) -> None:
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 2))
    provider = google_provider(gctx)
    fid = provider.ensure_forms([spec])[spec.key].form_id
    form = form_state(google_emulator, fid)
    q = qids(ctx, google_emulator, spec.key)
    items = spec.scale_items()
    for item in items:
        question = next(
            i["questionItem"]["question"]
            for i in form["items"]
            if "questionItem" in i
            and i["questionItem"]["question"]["questionId"] == q[item.item_id]
        )
        options = [o["value"] for o in question["choiceQuestion"]["options"]]
        assert options[-3:] == [
            "I can't score this one (a conflict of interest)",
            "I can't score this one (could not read it)",
            "I can't score this one (another reason)",
        ]
        assert question["required"] is True  # a score or a reason: one of them
    picks = {i.item_id: "1" for i in items}
    picks |= {
        items[0].item_id: "I can't score this one (could not read it)",
        items[1].item_id: "I can't score this one (another reason)",
        items[2].item_id: "4",
    }
    submit_response(google_emulator, fid, {q[i]: v for i, v in picks.items()}, when=T0)
    (r,) = provider.fetch_responses([spec])
    assert r.answers[items[0].item_id] == "cant-score:unreadable"  # as the local form sends it
    assert r.answers[items[1].item_id] == "cant-score:other"
    assert r.answers[items[2].item_id] == "4"
    assert isinstance(items[0], ScaleItem) and items[0].cant_score


# ------------------------------------------------------------ Drive search lag


def test_the_emulator_search_lags_but_get_by_id_does_not(
    gctx: Context, ctx: Context, lagging: Emulator
) -> None:
    provider = google_provider(gctx)
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 1))
    fid = provider.ensure_forms([spec])[spec.key].form_id
    listed = provider.drive.files().list(q="trashed = false", fields="files(id)").execute()
    assert fid not in {f["id"] for f in listed.get("files", [])}
    assert provider.drive.files().get(fileId=fid, fields="id").execute() == {"id": fid}
    lagging.search_lag = 0.0
    listed = provider.drive.files().list(q="trashed = false", fields="files(id)").execute()
    assert fid in {f["id"] for f in listed["files"]}


def test_a_lost_answer_to_create_makes_no_second_form_while_search_lags(
    gctx: Context, ctx: Context, lagging: Emulator
) -> None:
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 2))
    lagging.fail(503, when="after", match="drive.files.create")
    lagging.drop(when="after", match="drive.files.create")
    handle = google_provider(gctx).ensure_forms([spec])[spec.key]
    assert len(forms(lagging)) == 1 and handle.form_id in forms(lagging)
    assert lagging.calls("drive.files.create") == 1  # settled by id, never made again
    form = form_state(lagging, handle.form_id)
    assert len([i for i in form["items"] if "questionItem" in i]) == len(spec.items())


def test_killed_after_create_a_rerun_finds_the_form_by_its_recorded_id_while_search_lags(
    gctx: Context, ctx: Context, lagging: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = shortlisting_spec(ctx.campaign, "p03", candidates(ctx, 2))
    real_save = FormState.save
    saves = 0

    def dying_save(self: FormState, *keys: str) -> None:
        nonlocal saves
        saves += 1
        if saves == 2:  # the form is made; its entry is not written down yet
            raise KeyboardInterrupt("killed")
        real_save(self, *keys)

    monkeypatch.setattr(FormState, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        google_provider(gctx).ensure_forms([spec])
    monkeypatch.setattr(FormState, "save", real_save)
    assert len(forms(lagging)) == 1
    pending = state_of(gctx)["forms"][spec.key]["pending_id"]
    assert pending in forms(lagging)
    lagging.reset_counts()
    handle = google_provider(gctx).ensure_forms([spec])[spec.key]
    assert handle.form_id == pending and len(forms(lagging)) == 1
    assert lagging.calls("drive.files.create") == 1  # answered "already exists": adopted
    form = form_state(lagging, pending)
    assert len([i for i in form["items"] if "questionItem" in i]) == len(spec.items())


def test_a_late_application_goes_in_a_new_part_and_its_link_is_sent(
    gctx: Context, config_dir: Path, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.jobs.forms import collect_job, current_specs, push_job
    from automations.store import make_frame
    from tests.forms_support import raw_scores, seed_candidates
    from tests.remind_support import by_key, outbox, text_of
    from tests.test_late_application import _add_late_application

    for fmt in ("standard", "large print", "easy read"):
        monkeypatch.setitem(gforms.PART_CANDIDATES, fmt, 2)
    google_backend(gctx, config_dir)
    seed_candidates(gctx)  # A to F: three parts of two
    push_job(gctx)
    before = set(by_key(outbox(gctx)))
    staff = gctx.stores.staff
    staff.forget()
    frames = staff.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    spec = next(s for s in current_specs(gctx, frames) if s.person_id == "p01")
    state = state_of(gctx)
    for n in (1, 2, 3):  # p01 sends every part
        pkey = gforms.part_key(spec.key, n)
        q = qids(gctx, google_emulator, pkey)
        submit_response(
            google_emulator,
            state["forms"][pkey]["form_id"],
            {q[i.item_id]: "2" for i in spec.scale_items() if i.item_id in q},
            when=T0,
        )
    collect_job(gctx)
    answers_before = {
        fid: json.dumps(e["responses"], sort_keys=True, default=str)
        for fid, e in forms(google_emulator).items()
    }
    _add_late_application(gctx, max(raw_scores(gctx)["submitted_at"]))
    staff.append(
        "redaction_report",
        make_frame(
            staff.tab("redaction_report"),
            [{"application_id": "0007", "candidate_letter": "G", "reviewed_by": "R. Checker"}],
        ),
    )
    push_job(gctx)
    state = state_of(gctx)
    assert state["parts"][spec.key] == [["A", "B"], ["C", "D"], ["E", "F"], ["G"]]
    part4 = state["forms"][gforms.part_key(spec.key, 4)]
    assert letters_on(google_emulator, part4["form_id"]) == {"G"}
    now = {
        fid: json.dumps(e["responses"], sort_keys=True, default=str)
        for fid, e in forms(google_emulator).items()
    }
    assert {fid: now[fid] for fid in answers_before} == answers_before  # nothing lost
    sent = by_key(outbox(gctx))
    note = sent["new-candidate|p01|peer-support-2027|shortlisting|G"]
    assert part4["url"] in text_of(note)  # the note links the part Candidate G is on
    assert "Thank you for sending your shortlisting scores" in text_of(note)
    assert "new part of your form (part 4 of 4)" in text_of(note)
    # Nobody gets every link again: each shortlister gets ONE short note with the new
    # part's link (the one who sent scores, the same late-candidate note).
    new = set(sent) - before
    assert not [k for k in new if k.startswith("form-link|")]
    shortlisters = {
        k.split("|")[1]
        for k in before
        if k.startswith("form-link|") and k.split("|")[3] == "shortlisting"
    }
    assert len(shortlisters) > 1
    assert new == {f"new-candidate|{p}|peer-support-2027|shortlisting|G" for p in shortlisters}
    for pid in shortlisters - {"p01"}:
        words = text_of(sent[f"new-candidate|{pid}|peer-support-2027|shortlisting|G"])
        theirs = spec.key.replace(".p01", f".{pid}")
        assert state["forms"][gforms.part_key(theirs, 4)]["url"] in words
        assert "part 4 of 4" in words and "new part of your form" in words
        assert "Thank you for sending" not in words and "already sent" not in words
        for n in (1, 2, 3):  # the parts they have are not sent again
            assert state["forms"][gforms.part_key(theirs, n)]["url"] not in words
    staff.forget()
    tab = staff.read_one("form_links")
    mine = tab[(tab["person_id"] == "p01") & (tab["stage"] == "shortlisting")]
    assert len(mine) == 1  # still one row: the fourth part is a line in "All parts"
    assert mine.iloc[0]["parts"].split("\n")[-1] == f"Part 4 of 4, Candidate G: {part4['url']}"
    push_job(gctx)
    assert set(by_key(outbox(gctx))) == set(sent)  # and only once
