"""The Google Forms backend against the emulator, through the real googleapiclient."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials

from automations.config import load_settings
from automations.context import Context
from automations.errors import ConfigError, GoogleAPIError, RetryLimitReached
from automations.forms import google as gforms
from automations.forms.base import FormSpec, Response, ScaleItem, get_provider
from automations.forms.google import NEEDED_SCOPES, FormState, GoogleFormsProvider, google_provider
from automations.google.http import RetryPolicy
from automations.transforms.forms import Candidate, Scorer, interview_spec, shortlisting_spec
from tests.google_emulator.core import TEAM_ACCOUNT, Emulator
from tests.google_emulator.forms import form_state, forms, submit_response

T0 = dt.datetime(2027, 1, 26, 14, 0, tzinfo=dt.UTC)
FORM_CALLS = "forms.forms."


def policy(attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, max_seconds=60, sleep=lambda s: None)


@pytest.fixture
def gctx(ctx: Context, google_transport: requests.Session, google_key_file: Path) -> Context:
    ctx.extras["google_transport"] = google_transport
    ctx.extras["google_credentials"] = service_account.Credentials.from_service_account_file(
        str(google_key_file), scopes=list(NEEDED_SCOPES), subject=TEAM_ACCOUNT
    )
    ctx.extras["google_retry"] = policy()
    return ctx


@pytest.fixture
def specs(ctx: Context) -> list[FormSpec]:
    cands = [
        Candidate("A", {"c1": '=HYPERLINK("x")  I have cared for my dad.', "c2": "Yes."}),
        Candidate("B", {"c1": "I volunteer at a peer group.", "c2": ""}),
    ]
    return [
        shortlisting_spec(ctx.campaign, "p03", cands),
        interview_spec(ctx.campaign, Scorer("p04", "mixed", "panel member"), ["B", "A"]),
    ]


def state_of(ctx: Context) -> dict[str, Any]:
    """Each form's record, as the campaign's ledger holds it."""
    return FormState(ctx.settings.workspace / ctx.campaign.id).forms


def forget_records(ctx: Context) -> None:
    """Lose corecruit's record of its Google forms (as if the ledger's copy were lost)."""
    state = FormState(ctx.settings.workspace / ctx.campaign.id)
    state.forms.clear()
    state.parts.clear()
    state.save()


def question_of(ctx: Context, key: str, emu: Emulator) -> dict[str, str]:
    """item id -> Google question id of the form as it is now (checked against the state)."""
    entry = state_of(ctx)[key]
    form = form_state(emu, entry["form_id"])
    qids = [
        i["questionItem"]["question"]["questionId"] for i in form["items"] if "questionItem" in i
    ]
    return {entry["questions"][q]: q for q in qids}


def google_forms(emu: Emulator) -> list[dict[str, Any]]:
    return [e["form"] for e in forms(emu).values()]


def test_ensure_makes_one_built_published_form_per_key_and_reruns_cost_nothing(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    provider = google_provider(gctx)
    handles = provider.ensure_forms(specs)
    assert set(handles) == {s.key for s in specs}
    assert google_emulator.counts(FORM_CALLS) == {
        "forms.forms.batchUpdate": 2,  # every item of a form in one call
        "forms.forms.setPublishSettings": 2,  # new API forms start unpublished
    }
    assert google_emulator.counts("drive") == {
        "drive.files.create": 2,  # made through Drive: forms.create needs a Drive of one's own
        "drive.files.generateIds": 1,  # each new form's id set aside (and recorded) first
        "drive.files.list": 2,  # looked for before creating
        "drive.permissions.create": 2,
    }
    for spec in specs:
        h = handles[spec.key]
        form = form_state(google_emulator, h.form_id)
        assert h.url == form["responderUri"]
        assert form["info"] == {
            "title": spec.title,
            "description": spec.intro,
            "documentTitle": f"{spec.title} [{spec.key}]",
        }
        assert form["settings"] == {"emailCollectionType": "DO_NOT_COLLECT"}  # not a quiz
        questions = [i for i in form["items"] if "questionItem" in i]
        assert [q["title"] for q in questions] == [i.title for i in spec.items()]
        pages = [i["title"] for i in form["items"] if "pageBreakItem" in i]
        assert pages == [s.title for s in spec.sections[1:]]
        scale = questions[0]["questionItem"]["question"]
        assert scale["required"] is True
        # a score or "I can't score this one" (issue 19): one choice, as on the local form
        assert scale["choiceQuestion"] == {
            "type": "RADIO",
            "options": [{"value": str(n)} for n in range(5)]
            + [
                {"value": "I can't score this one (a conflict of interest)"},
                {"value": "I can't score this one (could not read it)"},
                {"value": "I can't score this one (another reason)"},
            ],
        }
        comment = questions[1]["questionItem"]["question"]
        assert comment["textQuestion"] == {"paragraph": True} and not comment.get("required")
        assert form["publishSettings"]["publishState"]["isAcceptingResponses"] is True
        perms = google_emulator.state("drive")["files"][h.form_id].permissions
        assert [p for p in perms if p.get("view") == "published"] == [
            {
                "kind": "drive#permission",
                "id": perms[-1]["id"],
                "type": "anyone",
                "role": "reader",
                "deleted": False,
                "pendingOwner": False,
                "view": "published",
            }
        ]
    first_form = form_state(google_emulator, handles[specs[0].key].form_id)
    # the scale's meanings are in the description (the options are the numbers)
    assert "0 = No evidence" in first_form["items"][1]["description"]
    assert "4 = Excellent evidence" in first_form["items"][1]["description"]
    # the anonymised answer is shown with the scale meanings under the score
    first = specs[0].scale_items()[0]
    shown = form_state(google_emulator, handles[specs[0].key].form_id)["items"][1]
    assert shown["description"].startswith(first.context)
    assert "0 = No evidence" in shown["description"]

    google_emulator.reset_counts()
    assert provider.ensure_forms(specs) == handles
    again = google_provider(gctx).ensure_forms(specs)  # a new run reads the state file
    assert again == handles
    assert google_emulator.calls() == 0
    assert len(google_forms(google_emulator)) == 2


def test_a_lost_answer_to_create_is_settled_in_drive_not_by_a_second_form(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    google_emulator.fail(503, when="after", match="drive.files.create")
    google_emulator.drop(when="after", match="drive.files.create")
    handles = google_provider(gctx).ensure_forms(specs)
    assert google_emulator.calls("drive.files.create") == 2  # one per key, never repeated
    assert len(google_forms(google_emulator)) == 2
    assert {h.form_id for h in handles.values()} == set(forms(google_emulator))
    for spec in specs:  # adopted forms are built like the others
        form = form_state(google_emulator, handles[spec.key].form_id)
        assert len([i for i in form["items"] if "questionItem" in i]) == len(spec.items())
        assert handles[spec.key].url == form["responderUri"]


def test_a_lost_answer_to_the_build_is_settled_by_reading_the_form_back(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    google_emulator.fail(500, when="after", match="forms.forms.batchUpdate")
    google_provider(gctx).ensure_forms(specs[:1])
    assert google_emulator.counts(FORM_CALLS) == {
        "forms.forms.batchUpdate": 1,  # applied once; the read-back shows it is done
        "forms.forms.get": 1,
        "forms.forms.setPublishSettings": 1,
    }
    form = google_forms(google_emulator)[0]
    assert len([i for i in form["items"] if "questionItem" in i]) == len(specs[0].items())
    assert set(question_of(gctx, specs[0].key, google_emulator)) == {
        i.item_id for i in specs[0].items()
    }


def test_killed_at_every_step_a_rerun_ends_with_one_complete_form_per_key(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = FormState.save
    steps = 0
    for kill_at in range(1, 20):
        forms(google_emulator).clear()
        google_emulator.state("drive").setdefault("files", {}).clear()
        forget_records(gctx)
        saves = 0

        def dying_save(self: FormState, *keys: str, kill_at: int = kill_at) -> None:
            nonlocal saves
            saves += 1
            if saves == kill_at:
                raise KeyboardInterrupt("killed")  # before the step is written down
            real_save(self, *keys)

        monkeypatch.setattr(FormState, "save", dying_save)
        try:
            google_provider(gctx).ensure_forms(specs)
        except KeyboardInterrupt:
            pass
        else:
            steps = kill_at - 1
            break
        monkeypatch.setattr(FormState, "save", real_save)
        handles = google_provider(gctx).ensure_forms(specs)
        assert len(google_forms(google_emulator)) == 2, kill_at
        for spec in specs:
            form = form_state(google_emulator, handles[spec.key].form_id)
            assert len([i for i in form["items"] if "questionItem" in i]) == len(spec.items())
            assert form["publishSettings"]["publishState"]["isPublished"] is True
            perms = google_emulator.state("drive")["files"][form["formId"]].permissions
            assert sum(p.get("view") == "published" for p in perms) == 1
    # every save point of two forms: the id set aside, create, build, publish, share
    assert steps == 10


def test_the_state_file_lost_forms_are_found_again_not_made_again(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    first = google_provider(gctx).ensure_forms(specs)
    forget_records(gctx)
    google_emulator.reset_counts()
    again = google_provider(gctx).ensure_forms(specs)
    assert {k: h.form_id for k, h in again.items()} == {k: h.form_id for k, h in first.items()}
    assert google_emulator.calls("drive.files.create") == 0
    assert google_emulator.calls("forms.forms.batchUpdate") == 0  # already built: adopted
    assert len(google_forms(google_emulator)) == 2


def test_an_old_state_file_is_taken_into_the_ledger_once_and_nothing_is_made_twice(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    """A campaign from before the ledger: its google-forms.json is taken in on first use."""
    folder = gctx.settings.workspace / gctx.campaign.id
    first = google_provider(gctx).ensure_forms(specs)
    made = state_of(gctx)
    forget_records(gctx)
    old = folder / "google-forms.json"
    old.write_text(json.dumps({"version": 1, "forms": made}))  # the old layout
    google_emulator.reset_counts()
    again = google_provider(gctx).ensure_forms(specs)
    assert {k: h.form_id for k, h in again.items()} == {k: h.form_id for k, h in first.items()}
    assert google_emulator.counts("") == {}  # every form complete in the record: no call
    assert not old.exists()
    kept = folder / "google-forms.json.migrated"
    assert json.loads(kept.read_text())["forms"] == made  # kept, never deleted
    assert state_of(gctx) == made
    # Stopped after the ledger took it in and before the rename: taken in again, changing
    # nothing (what the ledger holds wins), and still nothing made or called.
    state = FormState(folder)
    state.forms[specs[0].key]["collected"] = "2027-02-01T10:00:00.000000Z"
    state.save(specs[0].key)
    old.write_text(kept.read_text())
    google_provider(gctx).ensure_forms(specs)
    assert google_emulator.counts("") == {}
    assert state_of(gctx)[specs[0].key]["collected"] == "2027-02-01T10:00:00.000000Z"
    assert (folder / "google-forms.json.migrated2").exists() and not old.exists()
    assert len(google_forms(google_emulator)) == 2


def test_an_unreadable_old_state_file_stops_nothing_and_no_form_is_made_twice(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    folder = gctx.settings.workspace / gctx.campaign.id
    first = google_provider(gctx).ensure_forms(specs)
    forget_records(gctx)
    (folder / "google-forms.json").write_text('{"forms": {"half a fi')
    again = google_provider(gctx).ensure_forms(specs)  # no "cannot be read" error any more
    assert {k: h.form_id for k, h in again.items()} == {k: h.form_id for k, h in first.items()}
    assert len(google_forms(google_emulator)) == 2  # found in Drive by name
    assert (folder / "google-forms.json.migrated").read_text().startswith('{"forms"')


def test_a_changed_spec_updates_the_same_form_and_old_answers_still_map(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    provider = google_provider(gctx)
    interview = specs[1]
    h = provider.ensure_forms([interview])[interview.key]
    old_q = question_of(gctx, interview.key, google_emulator)
    item = interview.scale_items()[0]
    first = {old_q[i.item_id]: 3 for i in interview.scale_items()}
    submit_response(google_emulator, h.form_id, first, when=T0)
    wider = interview_spec(gctx.campaign, Scorer("p04", "mixed", "panel member"), ["B", "A", "C"])
    google_emulator.reset_counts()
    h2 = provider.ensure_forms([wider])[wider.key]
    assert h2.form_id == h.form_id
    assert google_emulator.counts(FORM_CALLS) == {
        "forms.forms.get": 1,
        "forms.forms.batchUpdate": 1,
    }
    new_q = question_of(gctx, wider.key, google_emulator)
    assert len(new_q) == len(wider.items())
    submit_response(
        google_emulator, h.form_id, {new_q[i.item_id]: 1 for i in wider.scale_items()}, when=T0
    )
    got = provider.fetch_responses([wider])
    assert sorted(r.answers[item.item_id] for r in got) == ["1", "3"]  # no answer lost


def test_responses_map_to_the_same_response_objects_as_the_local_backend(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = google_provider(gctx)
    handles = provider.ensure_forms(specs)
    spec = specs[1]
    fid = handles[spec.key].form_id
    q = question_of(gctx, spec.key, google_emulator)
    scores = spec.scale_items()
    comment = next(i for i in spec.items() if not isinstance(i, ScaleItem))
    answers = {q[i.item_id]: n % 5 for n, i in enumerate(scores)}
    rid = submit_response(
        google_emulator, fid, {**answers, q[comment.item_id]: "=1+1 was a good start"}, when=T0
    )
    for n in range(1, 7):
        submit_response(google_emulator, fid, answers, when=T0 + dt.timedelta(minutes=n))
    monkeypatch.setattr(gforms, "PAGE_SIZE", 3)
    google_emulator.reset_counts()
    got = provider.fetch_responses(specs)
    assert google_emulator.counts() == {"forms.forms.responses.list": 1 + 3}  # pages, not rows
    assert len(got) == 7 and all(isinstance(r, Response) for r in got)
    r = got[0]
    assert r.response_id == f"G20270126T140000000000Z-{rid}"
    assert [x.response_id for x in got] == sorted(x.response_id for x in got)
    assert (r.form_key, r.person_id, r.source) == (spec.key, "p04", "google form")
    assert r.submitted_at == T0 and r.submitted_at.tzinfo is not None
    assert set(r.answers) == {i.item_id for i in spec.items()}  # every item, '' when blank
    assert r.answers[comment.item_id] == "=1+1 was a good start"  # raw text
    assert r.answers[scores[1].item_id] == "1"
    assert all(
        v == "" for k, v in r.answers.items() if k.startswith("comment__") and k != comment.item_id
    )
    assert dict(r.meta) == {"form_id": fid, "google_response_id": rid}

    # since: only what came at or after it; an edited response is a new submission
    submit_response(
        google_emulator,
        fid,
        {**answers, q[scores[0].item_id]: 4},
        when=T0 + dt.timedelta(hours=2),
        edit_of=rid,
    )
    since = dt.datetime(2027, 1, 26, 15, 0)  # naive: the organisation's time (UTC in January)
    monkeypatch.setattr(gforms, "PAGE_SIZE", 5000)
    google_emulator.reset_counts()
    later = provider.fetch_responses(specs, since)
    assert google_emulator.calls("forms.forms.responses.list") == 2  # one per form
    assert [(x.meta["google_response_id"], x.answers[scores[0].item_id]) for x in later] == [
        (rid, "4")
    ]
    assert later[0].response_id != r.response_id


def test_429_and_503_are_retried_within_bounds(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    google_emulator.fail(429, retry_after=0, times=2, match="drive.files.create")
    google_emulator.fail(503, times=2, match="forms.forms.batchUpdate")
    google_emulator.fail(503, times=2, match="drive.")
    handles = google_provider(gctx).ensure_forms(specs)
    assert len(google_forms(google_emulator)) == 2 and len(handles) == 2
    assert google_emulator.calls("drive.files.create") == 4
    fid = handles[specs[0].key].form_id
    google_emulator.fail(503, times=2, match="forms.forms.responses.list")
    assert google_provider(gctx).fetch_responses(specs) == []
    assert google_emulator.calls("forms.forms.responses.list") == 4

    gctx.extras["google_retry"] = policy(attempts=3)
    gctx.extras.pop("forms", None)
    google_emulator.reset_counts()
    google_emulator.fail(503, times=100, match="forms.forms.responses.list")
    with pytest.raises(RetryLimitReached) as info:
        google_provider(gctx).fetch_responses(specs)
    assert google_emulator.calls() == 3  # bounded
    assert "after 3 tries" in str(info.value) and "@" not in str(info.value)
    assert fid not in str(info.value)


def test_a_create_that_keeps_failing_gives_up_cleanly(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    gctx.extras["google_retry"] = policy(attempts=3)
    google_emulator.fail(503, times=100, match="drive.files.create")
    with pytest.raises(RetryLimitReached, match="never makes a second form"):
        google_provider(gctx).ensure_forms(specs)
    assert google_emulator.calls("drive.files.create") == 3
    assert google_forms(google_emulator) == []


def test_missing_scopes_are_a_clear_error_without_personal_data(
    gctx: Context,
    specs: list[FormSpec],
    google_emulator: Emulator,
    google_transport: requests.Session,
    google_credentials: object,
) -> None:
    gctx.extras["google_credentials"] = google_credentials  # spreadsheets + drive.file only
    with pytest.raises(ConfigError, match=r"forms\.body") as info:
        google_provider(gctx)
    assert "forms.responses.readonly" in str(info.value) and "@" not in str(info.value)
    assert google_emulator.calls() == 0
    # credentials that do not say their scopes: Google's 403 becomes a plain message
    token = google_emulator.issue_token(scopes=("forms.body",))
    gctx.extras["google_credentials"] = Credentials(token)
    with pytest.raises(GoogleAPIError, match="scope") as err:
        google_provider(gctx).ensure_forms(specs)
    text = str(err.value)
    assert "drive.file" in text and "@" not in text
    assert err.value.status == 403
    assert google_emulator.calls("drive.files.create") == 0  # stopped before making anything


def test_get_provider_picks_google_from_config(
    gctx: Context, config_dir: Path, google_emulator: Emulator
) -> None:
    org = config_dir / "organisation.toml"
    org.write_text(
        org.read_text().replace(
            'backend = "local"            # "local": corecruit',
            'backend = "google"  # corecruit',
            1,
        )
    )
    gctx.settings = load_settings(config_dir)
    assert gctx.settings.org.forms.backend == "google"
    provider = get_provider(gctx)
    assert isinstance(provider, GoogleFormsProvider)
    assert get_provider(gctx) is provider


def test_push_and_collect_jobs_run_on_google_forms(
    gctx: Context, config_dir: Path, google_emulator: Emulator
) -> None:
    from automations.jobs.forms import collect_job, current_specs, push_job
    from automations.transforms.forms import latest_scores
    from tests.forms_support import links, raw_scores, seed_candidates

    org = config_dir / "organisation.toml"
    text = org.read_text().replace(
        'backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit', 1
    )
    org.write_text(text)
    gctx.settings = load_settings(config_dir)
    seed_candidates(gctx, interview=("A", "B"))
    push_job(gctx, send=False)
    made = google_emulator.counts(FORM_CALLS)
    assert google_emulator.calls("drive.files.create") == 12
    assert made == {
        "forms.forms.batchUpdate": 12,
        "forms.forms.setPublishSettings": 12,
    }
    urls = links(gctx)
    assert sorted(urls.values()) == sorted(f["responderUri"] for f in google_forms(google_emulator))
    google_emulator.reset_counts()
    push_job(gctx, send=False)
    assert google_emulator.calls() == 0 and links(gctx) == urls

    staff = gctx.stores.staff
    staff.forget()
    frames = staff.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    spec = next(s for s in current_specs(gctx, frames) if s.key.endswith("shortlisting.p01"))
    q = question_of(gctx, spec.key, google_emulator)
    fid = state_of(gctx)[spec.key]["form_id"]
    scores = spec.scale_items()
    first_comment = next(i for i in spec.items() if not isinstance(i, ScaleItem))
    answers: dict[str, Any] = {q[i.item_id]: 2 for i in scores}
    sent_at = dt.datetime(2027, 1, 25, 8, 30, tzinfo=dt.UTC)
    rid = submit_response(
        google_emulator, fid, {**answers, q[first_comment.item_id]: "=SUM(1) good"}, when=sent_at
    )
    google_emulator.reset_counts()
    collect_job(gctx)
    assert google_emulator.counts() == {"forms.forms.responses.list": 12}  # one per form
    raw = raw_scores(gctx)
    assert len(raw) == len(scores) and set(raw["source"]) == {"google form"}
    assert set(raw["person_id"]) == {"p01"}
    assert "=SUM(1) good" in set(raw["comment"])  # text, never a formula
    collect_job(gctx)
    assert len(raw_scores(gctx)) == len(scores)  # collected twice, kept once
    # a correction through "edit your response" counts as the latest
    submit_response(
        google_emulator,
        fid,
        {**answers, q[scores[0].item_id]: 4},
        when=sent_at + dt.timedelta(minutes=20),
        edit_of=rid,
    )
    collect_job(gctx)
    raw = raw_scores(gctx)
    assert len(raw) == 2 * len(scores)
    latest = latest_scores(raw)
    first = latest[
        (latest["candidate_letter"] == scores[0].candidate_letter)
        & (latest["question_id"] == scores[0].question_id)
    ]
    assert [int(x) for x in first["score"]] == [4]


def test_forms_go_in_the_configured_drive_folder_once(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    from tests.google_emulator.drive import FOLDER, add_file

    folder = add_file(
        google_emulator, "Recruitment", FOLDER, google_emulator.default_principal_email
    )
    google_provider(gctx).ensure_forms(specs[:1])  # made before a folder was set
    google_emulator.reset_counts()
    provider = google_provider(gctx)
    provider.folder_id = folder.id
    handles = provider.ensure_forms(specs)
    files = google_emulator.state("drive")["files"]
    assert [files[h.form_id].parents for h in handles.values()] == [[folder.id], [folder.id]]
    assert google_emulator.counts("drive.files") == {
        "drive.files.create": 1,  # the new form is made in the folder
        "drive.files.generateIds": 1,  # with an id set aside (and recorded) first
        "drive.files.get": 1,  # the older one is moved there
        "drive.files.list": 1,  # only the new form was looked for
        "drive.files.update": 1,
    }
    google_emulator.reset_counts()
    assert provider.ensure_forms(specs) == handles
    assert google_emulator.calls() == 0


def test_a_changed_answer_text_is_pushed_and_googles_left_out_defaults_still_match(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator, ctx: Context
) -> None:
    import copy

    from automations.forms.google import matching_questions

    provider = google_provider(gctx)
    h = provider.ensure_forms(specs[:1])[specs[0].key]
    fixed = shortlisting_spec(
        ctx.campaign,
        "p03",
        [
            Candidate("A", {"c1": "I have cared for my dad (corrected).", "c2": "Yes."}),
            Candidate("B", {"c1": "I volunteer at a peer group.", "c2": ""}),
        ],
    )
    google_emulator.reset_counts()
    provider.ensure_forms([fixed])
    assert google_emulator.calls("forms.forms.batchUpdate") == 1
    shown = [i.get("description", "") for i in form_state(google_emulator, h.form_id)["items"]]
    assert any(d.startswith("I have cared for my dad (corrected).") for d in shown)
    # Google leaves proto3 defaults out of its answers (low 0, required false)
    form = form_state(google_emulator, h.form_id)
    sparse = copy.deepcopy(form)
    for item in sparse["items"]:
        q = item.get("questionItem", {}).get("question", {})
        if not q.get("required"):
            q.pop("required", None)
        if q.get("scaleQuestion", {}).get("low") == 0:
            del q["scaleQuestion"]["low"]
    assert matching_questions(sparse, fixed) == matching_questions(form, fixed)
    assert matching_questions(form, fixed) is not None
    assert matching_questions(form, specs[0]) is None  # the old answer text is not there


def test_sharing_refused_by_the_workspace_is_explained_and_resumes_later(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator
) -> None:
    google_emulator.fail(
        403,
        match="drive.permissions.create",
        message="The user does not have sufficient permissions for this file.",
    )
    with pytest.raises(GoogleAPIError, match="anyone with the link") as info:
        google_provider(gctx).ensure_forms(specs)
    assert "@" not in str(info.value)
    entry = state_of(gctx)[specs[0].key]
    assert entry["published"] and not entry["shared"]
    google_emulator.reset_counts()
    handles = google_provider(gctx).ensure_forms(specs)
    assert google_emulator.calls("drive.files.create") == 1  # only the second form is new
    assert google_emulator.calls("drive.permissions.create") == 2
    assert len(google_forms(google_emulator)) == 2 == len(handles)


def test_a_form_deleted_in_drive_is_made_again_when_its_questions_change(
    gctx: Context, specs: list[FormSpec], google_emulator: Emulator, ctx: Context
) -> None:
    provider = google_provider(gctx)
    old = provider.ensure_forms(specs[1:])[specs[1].key]
    del google_emulator.state("drive")["files"][old.form_id]  # someone deleted it in Drive
    wider = interview_spec(ctx.campaign, Scorer("p04", "mixed", "panel member"), ["B", "A", "C"])
    new = provider.ensure_forms([wider])[wider.key]
    assert new.form_id != old.form_id and new.url != old.url
    assert google_emulator.state("drive")["files"][new.form_id].mime_type.endswith(".form")
    with pytest.raises(GoogleAPIError, match="could not find the form") as info:
        provider._get(old.form_id, "reading the form for a test")
    assert "forms push" in str(info.value)


def test_a_form_changed_after_answers_arrived_loses_no_answer(
    gctx: Context, ctx: Context, google_emulator: Emulator
) -> None:
    """Reworded, added and removed questions: in place, and nothing deleted before collection."""
    provider = google_provider(gctx)
    spec = shortlisting_spec(
        ctx.campaign,
        "p03",
        [Candidate("A", {"c1": "I cared for my dad.", "c2": "Yes."}), Candidate("B", {"c1": "x"})],
    )
    fid = provider.ensure_forms([spec])[spec.key].form_id
    q = question_of(gctx, spec.key, google_emulator)
    submit_response(google_emulator, fid, {qid: "3" for qid in q.values()}, when=T0)
    # a corrected answer text for A, and B withdrawn, before the scores were collected
    fixed = shortlisting_spec(
        ctx.campaign,
        "p03",
        [Candidate("A", {"c1": "I cared for my dad (corrected).", "c2": "Yes."})],
    )
    assert provider.ensure_forms([fixed])[fixed.key].form_id == fid
    kept = {i.item_id for i in spec.items()} - {i.item_id for i in fixed.items()}
    assert kept  # B's questions
    answers = submitted_answers(google_emulator, fid)
    assert set(answers) == set(q.values())  # every answer is still there, B's too
    got = provider.fetch_responses([spec])  # collected (as the collect job does)
    provider.mark_collected(got)  # ...once they are written to the workbook
    assert {v for r in got for v in r.answers.values() if v} == {"3"}
    assert all(r.answers[i] == "3" for r in got for i in q)
    # collected: the next push removes B's questions; A's answers stay
    provider.ensure_forms([fixed])
    form = form_state(google_emulator, fid)
    titles = [i.get("title", "") for i in form["items"] if "questionItem" in i]
    assert len(titles) == len(fixed.items())
    left = submitted_answers(google_emulator, fid)
    assert set(left) == {q[i.item_id] for i in fixed.items()}
    (r,) = provider.fetch_responses([fixed])
    assert r.answers == dict.fromkeys((i.item_id for i in fixed.items()), "3")


def test_answers_read_but_never_written_keep_their_questions_at_the_next_push(
    gctx: Context, ctx: Context, google_emulator: Emulator
) -> None:
    """A collect stopped between reading and writing marks nothing: the push that
    follows keeps the withdrawn candidate's questions, so the rerun finds every answer."""
    provider = google_provider(gctx)
    spec = shortlisting_spec(
        ctx.campaign, "p03", [Candidate("A", {"c1": "Yes."}), Candidate("B", {"c1": "x"})]
    )
    fid = provider.ensure_forms([spec])[spec.key].form_id
    q = question_of(gctx, spec.key, google_emulator)
    submit_response(google_emulator, fid, {qid: "3" for qid in q.values()}, when=T0)
    assert len(provider.fetch_responses([spec])) == 1  # read... then the job is killed
    assert "collected" not in state_of(gctx)[spec.key]
    fixed = shortlisting_spec(ctx.campaign, "p03", [Candidate("A", {"c1": "Yes."})])
    rerun = google_provider(gctx)  # a new run
    rerun.ensure_forms([fixed])
    assert set(submitted_answers(google_emulator, fid)) == set(q.values())  # B's answers kept
    (r,) = rerun.fetch_responses([spec])  # the collect run again finds them all
    assert r.answers == dict.fromkeys((i.item_id for i in spec.items()), "3")
    rerun.mark_collected([r])  # written now: the next push may remove B's questions
    assert state_of(gctx)[spec.key]["collected"]
    rerun.ensure_forms([fixed])
    assert set(submitted_answers(google_emulator, fid)) == {q[i.item_id] for i in fixed.items()}


def test_the_collect_job_marks_answers_collected_only_after_writing_them(
    gctx: Context, config_dir: Path, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automations.jobs.forms import collect_job, push_job
    from tests.forms_support import raw_scores, seed_candidates

    org = config_dir / "organisation.toml"
    text = org.read_text().replace(
        'backend = "local"            # "local": corecruit', 'backend = "google"  # corecruit', 1
    )
    org.write_text(text)
    gctx.settings = load_settings(config_dir)
    seed_candidates(gctx, interview=("A", "B"))
    push_job(gctx, send=False)
    key = next(k for k in state_of(gctx) if k.endswith("shortlisting.p01"))
    q = question_of(gctx, key, google_emulator)
    submit_response(
        google_emulator,
        state_of(gctx)[key]["form_id"],
        {v: 2 for k, v in q.items() if k.startswith("score")},
        when=T0,
    )
    staff = gctx.stores.staff

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # stopped between reading the answers and writing them

    monkeypatch.setattr(staff, "_save_grids", killed)  # every write of the store saves there
    with pytest.raises(KeyboardInterrupt):
        collect_job(gctx)
    assert "collected" not in state_of(gctx)[key]
    monkeypatch.undo()
    del gctx.extras["forms"]  # a new run
    collect_job(gctx)
    assert len(raw_scores(gctx)) and state_of(gctx)[key]["collected"]


def submitted_answers(emu: Emulator, form_id: str) -> dict[str, Any]:
    (r,) = forms(emu)[form_id]["responses"]
    return dict(r["answers"])


def test_a_large_shortlisting_form_is_built_with_every_request_under_2_mb(
    gctx: Context, ctx: Context, google_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gforms.MAX_REQUEST_BYTES < 2_000_000  # Google's recommended limit
    limit = 100_000  # the same splitting at a smaller scale, to keep the test quick
    monkeypatch.setattr(gforms, "MAX_REQUEST_BYTES", limit)
    monkeypatch.setitem(gforms.PART_CANDIDATES, "standard", 40)  # one part (see test_gforms_parts)
    text = "I have supported people in my community for many years, and I listen. " * 35
    cands = [Candidate(f"C{n}", {"c1": text, "c2": text}) for n in range(40)]
    spec = shortlisting_spec(ctx.campaign, "p03", cands)
    google_emulator.capture = True
    fid = google_provider(gctx).ensure_forms([spec])[spec.key].form_id
    sizes = [len(b) for name, _q, b in google_emulator.captured if name.endswith("batchUpdate")]
    assert len(sizes) >= 2 and sum(sizes) > 2 * limit  # one request would have been too big
    assert max(sizes) < limit * 1.05  # (the envelope around the requests is small)
    assert len(question_of(gctx, spec.key, google_emulator)) == len(spec.items())
    assert form_state(google_emulator, fid)["info"]["title"] == spec.title
