"""forms push / collect on the local backend: links, emails once, scores in, exceptions out."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.forms.base import comment_item_id, form_key, score_item_id
from automations.forms.local import AppInfo, create_app
from automations.jobs.forms import collect_job, current_specs, push_job
from automations.transforms.forms import latest_scores
from tests.forms_support import (
    check_nonce,
    client,
    exceptions,
    fill,
    links,
    path_of,
    provider,
    raw_scores,
    seed_candidates,
)
from tests.remind_support import by_key, no_personal_data, outbox, sent_log, set_cell, text_of

HERE = Path(__file__).resolve().parent
NOW = dt.datetime(2027, 1, 25, 9, 0)
SCORERS = ["p01", "p02", "p03", "p05", "p06", "p07"]


def specs_by_key(ctx: Context) -> dict:
    st = ctx.stores.staff
    st.forget()
    frames = st.read(["people", "applications", "candidate_key", "timetable", "form_links"])
    return {s.key: s for s in current_specs(ctx, frames)}


def test_push_makes_each_persons_forms_and_emails_their_own_link_once(ctx: Context) -> None:
    seed_candidates(ctx, interview=("A", "B"))
    res = push_job(ctx)
    got = links(ctx)
    assert set(got) == {(p, s) for p in SCORERS for s in ("shortlisting", "interview")}
    assert len(set(got.values())) == 12
    msgs = by_key(outbox(ctx))
    # p06 prefers a phone call: staff get the letter to pass on, no email
    emailed = {k.split("|")[1] for k in msgs}
    assert emailed == {"p01", "p02", "p03", "p05", "p07"} and len(msgs) == 10
    assert res.messages_sent == 10
    for key, m in msgs.items():
        _, pid, _, stage, _ = key.split("|")
        body = text_of(m)
        assert got[(pid, stage)] in body
        assert not any(u in body for (p, s), u in got.items() if (p, s) != (pid, stage))
        assert "come back" in body and "Please do not share it" in body
    statuses = dict(zip(sent_log(ctx)["message_key"], sent_log(ctx)["status"], strict=True))
    assert sum(1 for s in statuses.values() if s == "contact another way") == 2
    letters = list(
        (ctx.settings.workspace / ctx.campaign.id / "letters").glob("form-link*p06*.txt")
    )
    assert len(letters) == 2
    # run again: same links, nothing sent twice
    again = push_job(ctx)
    assert links(ctx) == got and again.messages_sent == 0 and len(outbox(ctx)) == 10


def test_form_links_record_each_persons_order_and_seed(ctx: Context) -> None:
    letters = seed_candidates(ctx)
    push_job(ctx, send=False)
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    orders = df["candidate_order"].tolist()
    assert all(sorted(o.split(", ")) == letters for o in orders)
    assert len(set(orders)) == len(orders) == 6
    assert all(s.startswith("peer-support-2027|2027|shortlisting|p0") for s in df["order_seed"])
    push_job(ctx, send=False)
    ctx.stores.staff.forget()
    assert ctx.stores.staff.read_one("form_links")["candidate_order"].tolist() == orders


def test_nothing_to_push_before_applications_are_anonymised(ctx: Context) -> None:
    res = push_job(ctx)
    assert "no forms to make yet" in res.detail and links(ctx) == {}


def test_collect_brings_scores_in_once_and_corrections_count(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    c = client(ctx)
    url = links(ctx)[("p03", "shortlisting")]
    spec = specs[form_key(ctx.campaign.id, "shortlisting", "p03")]
    note = comment_item_id("C", "c2")
    fill(c, spec, path_of(url), "2", comments={note: "=SUM(A1) strong example"}, nonce="first")
    res = collect_job(ctx)
    raw = raw_scores(ctx)
    assert len(raw) == 24 and res.rows_written == 24
    assert set(raw["person_id"]) == {"p03"} and set(raw["panel"]) == {"lived experience"}
    assert raw[raw["comment"] != ""]["comment"].tolist() == ["=SUM(A1) strong example"]
    assert collect_job(ctx).rows_written == 0 and len(raw_scores(ctx)) == 24
    # a correction: the latest counts, the earlier is kept
    fill(c, spec, path_of(url), {score_item_id("C", "c2"): "4"}, nonce="second")
    collect_job(ctx)
    raw = raw_scores(ctx)
    assert len(raw) == 48
    latest = latest_scores(raw)
    c2 = latest[(latest["candidate_letter"] == "C") & (latest["question_id"] == "c2")]
    assert [str(s) for s in c2["score"]] == ["4"]
    # the comment stays text in the workbook, never a formula
    wb = openpyxl.load_workbook(ctx.settings.workspace / ctx.campaign.id / "staff.xlsx")
    cells = [
        c
        for row in wb["Raw scores"].iter_rows()
        for c in row
        if c.value == "=SUM(A1) strong example"
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_collect_writes_in_one_batch(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    c = client(ctx)
    for pid in ("p01", "p05"):
        fill(
            c,
            specs[form_key(ctx.campaign.id, "shortlisting", pid)],
            path_of(links(ctx)[(pid, "shortlisting")]),
        )
    staff = ctx.stores.staff
    calls: list[list[str]] = []
    real = staff._write_grids
    staff._write_grids = lambda grids: (calls.append(sorted(grids)), real(grids))[1]  # type: ignore[method-assign]
    assert collect_job(ctx).rows_written == 48
    # one write call; 'Needs attention' holds nothing new, so it is not rewritten, and the
    # ledger's stamp goes with it (issue 17)
    assert calls == [["_corecruit", "raw_scores"]]


def test_out_of_range_and_missing_answers_get_a_kind_error_and_are_not_saved(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    c = client(ctx)
    path = path_of(links(ctx)[("p01", "shortlisting")])
    spec = specs_by_key(ctx)[form_key(ctx.campaign.id, "shortlisting", "p01")]
    first = (
        spec.sections[0].scale_items()
        if hasattr(spec.sections[0], "scale_items")
        else [i for i in spec.sections[0].items if hasattr(i, "points")]
    )
    data = {i.item_id: "2" for i in first}
    data[first[0].item_id] = "7"
    data["nav"] = "next"
    r = c.post(f"{path}/1", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "There is a problem" in page and "Please choose one of the scores shown" in page
    assert 'value="2" checked' in page  # the person's other answers are kept
    del data[first[1].item_id]
    data[first[0].item_id] = "3"
    r = c.post(f"{path}/1", data=data)
    assert r.status_code == 422 and "Please choose a score for" in r.get_data(as_text=True)
    # sending with pages missing lists what is left, with links to it
    r = c.post(f"{path}/send", data={"nonce": check_nonce(c, path)})
    assert r.status_code == 422 and "Not scored yet" in r.get_data(as_text=True)
    assert provider(ctx).inbox.count() == 0


def test_bad_responses_in_the_inbox_become_exceptions_once(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    inbox = provider(ctx).inbox
    key = form_key(ctx.campaign.id, "shortlisting", "p07")
    ans = {i.item_id: "3" for i in specs[key].scale_items()}
    ans[score_item_id("A", "c1")] = "12"
    at = dt.datetime(2027, 1, 25, 8, 0, tzinfo=dt.UTC)
    inbox.submit(form_key=key, person_id="p07", token_id="t", answers=ans, nonce="a", now=at)
    inbox.submit(form_key=key, person_id="p02", token_id="t", answers=ans, nonce="b", now=at)
    res = collect_job(ctx)
    exc = exceptions(ctx)
    assert len(exc) == 2 and res.attention
    reasons = " | ".join(exc["reason"])
    assert "the score 12 is outside the scale (0 to 4)" in reasons and "belongs to p07" in reasons
    assert len(raw_scores(ctx)) == 23
    assert no_personal_data(reasons) == []
    assert collect_job(ctx).rows_written == 0 and len(exceptions(ctx)) == 2


def test_a_person_can_never_see_anyone_elses_scores(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx)
    specs = specs_by_key(ctx)
    c = client(ctx)
    secret = "Only p05 wrote this note"
    k5 = form_key(ctx.campaign.id, "shortlisting", "p05")
    fill(
        c,
        specs[k5],
        path_of(links(ctx)[("p05", "shortlisting")]),
        "4",
        comments={comment_item_id("B", "c1"): secret},
        nonce="p05",
    )
    collect_job(ctx)
    path = path_of(links(ctx)[("p03", "shortlisting")])
    k3 = form_key(ctx.campaign.id, "shortlisting", "p03")
    pages = [c.get(path), c.get(f"{path}/check")]
    pages += [c.get(f"{path}/{n}") for n in range(1, len(specs[k3].sections) + 1)]
    rid = fill(c, specs[k3], path, "1", nonce="p03")
    pages.append(c.get(f"{path}/done/{rid}"))
    for p in pages:
        html = p.get_data(as_text=True)
        assert p.status_code == 200 and secret not in html and "p05" not in html
        assert 'value="4" checked' not in html
    # p05's response cannot be opened through p03's link
    p05_rid = provider(ctx).inbox.responses([k5])[0].response_id
    assert c.get(f"{path}/done/{p05_rid}").status_code == 404
    # no email shows it either
    assert not any(secret in text_of(m) for m in outbox(ctx))
    # nothing reaches the panel workbook
    wb = openpyxl.load_workbook(ctx.settings.workspace / ctx.campaign.id / "panel.xlsx")
    assert not any(secret in str(c.value) for ws in wb for row in ws.iter_rows() for c in row)


def test_changed_expired_and_replaced_links_get_a_kind_page_and_no_data(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    path = path_of(links(ctx)[("p03", "shortlisting")])
    p = provider(ctx)
    c = client(ctx)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    r = c.get(forged)
    html = r.get_data(as_text=True)
    assert r.status_code == 403 and "This link does not work" in html and "Candidate" not in html
    assert c.post(f"{forged}/send", data={"nonce": "x"}).status_code == 403
    late = create_app(
        p.inbox, p.signer, info=AppInfo(), now=lambda: p.now() + dt.timedelta(days=61)
    )
    r = late.test_client().get(path)
    assert r.status_code == 410 and "has expired" in r.get_data(as_text=True)
    assert "Shortlisting" not in r.get_data(as_text=True)


def child(config_dir: Path, mode: str) -> int:
    return subprocess.run(
        [sys.executable, str(HERE / "forms_child.py"), str(config_dir), NOW.isoformat(), mode],
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["push-before-links", "push-after-first-email"])
def test_push_killed_then_run_again_makes_no_second_form_or_email(
    ctx: Context, config_dir: Path, mode: str
) -> None:
    seed_candidates(ctx)
    assert child(config_dir, mode) == 9
    before = {k: f.token_id for k, f in provider(ctx).inbox.forms().items()}
    assert len(before) == 6
    push_job(ctx)
    ctx.stores.staff.forget()
    df = ctx.stores.staff.read_one("form_links")
    assert dict(zip(df["person_id"], df["form_id"], strict=True)) == {
        k.rsplit(".", 1)[1]: v for k, v in before.items()
    }
    keys = [str(m["X-Corecruit-Key"]).strip() for m in outbox(ctx)]
    assert len(keys) == len(set(keys)) == 5  # p06 by phone; everyone else once
    assert push_job(ctx).messages_sent == 0 and len(outbox(ctx)) == 5


@pytest.mark.slow
def test_collect_killed_before_writing_loses_nothing(ctx: Context, config_dir: Path) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    c = client(ctx)
    fill(
        c,
        specs[form_key(ctx.campaign.id, "shortlisting", "p01")],
        path_of(links(ctx)[("p01", "shortlisting")]),
    )
    assert child(config_dir, "collect-before-write") == 9
    assert len(raw_scores(ctx)) == 0  # nothing half-written
    collect_job(ctx)
    assert len(raw_scores(ctx)) == 24
    collect_job(ctx)
    assert len(raw_scores(ctx)) == 24


def test_cli_push_and_collect(ctx: Context, config_dir: Path) -> None:
    seed_candidates(ctx)
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "push", "--no-email"])
    assert r.exit_code == 0, r.output
    assert "6 form(s) ready" in r.output and no_personal_data(r.output) == []
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "collect"])
    assert r.exit_code == 0 and "0 response(s) seen" in r.output


def test_a_link_near_its_end_is_renewed_and_sent_again_once(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx)
    old = links(ctx)[("p03", "shortlisting")]
    assert len(outbox(ctx)) == 5
    # a long campaign: the decision meeting is after the links near their end
    set_cell(ctx, "dates", {"event": "decision meeting"}, starts_at=dt.datetime(2027, 4, 1, 10))
    later = NOW + dt.timedelta(days=50)  # 60-day links: less than a quarter left
    ctx.clock = lambda: later
    res = push_job(ctx)
    new = links(ctx)[("p03", "shortlisting")]
    assert new != old and res.messages_sent == 5 and len(outbox(ctx)) == 10
    ctx.stores.staff.forget()
    exp = ctx.stores.staff.read_one("form_links")["expires_at"].tolist()
    # 60 days on (shown in local time, so an hour later once the clocks have gone forward)
    assert all(e - later in (dt.timedelta(days=60), dt.timedelta(days=60, hours=1)) for e in exp)
    r = client(ctx).get(path_of(old))
    assert r.status_code == 410 and "no longer in use" in r.get_data(as_text=True)
    assert push_job(ctx).messages_sent == 0


def test_someone_taken_off_the_panel_after_sending_is_reported_not_merged(ctx: Context) -> None:
    seed_candidates(ctx)
    push_job(ctx, send=False)
    specs = specs_by_key(ctx)
    c = client(ctx)
    fill(
        c,
        specs[form_key(ctx.campaign.id, "shortlisting", "p07")],
        path_of(links(ctx)[("p07", "shortlisting")]),
    )
    set_cell(ctx, "people", {"person_id": "p07"}, shortlists=False, interviews=False)
    res = collect_job(ctx)
    assert len(raw_scores(ctx)) == 0
    [reason] = exceptions(ctx)["reason"].tolist()
    assert "p07 is not down to score at shortlisting" in reason and res.attention


def test_cli_serve_runs_the_local_server_and_explains_google(
    ctx: Context, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import automations.forms.local as local

    seen: list[tuple[object, object]] = []
    monkeypatch.setattr(local, "serve", lambda settings, host, port: seen.append((host, port)))
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "serve", "--port", "9999"])
    assert r.exit_code == 0, r.output
    assert seen == [(None, 9999)] and "http://127.0.0.1:8765/f/" in r.output
    toml = config_dir / "organisation.toml"
    toml.write_text(
        toml.read_text().replace(
            'backend = "local"            # "local": corecruit',
            'backend = "google"            # "local": corecruit',
        )
    )
    r = CliRunner().invoke(main, ["--config", str(config_dir), "forms", "serve"])
    assert r.exit_code == 0 and "Google serves the forms" in r.output and len(seen) == 1


def test_the_real_server_answers_on_loopback(ctx: Context) -> None:
    import requests

    from automations.forms.local import start_server_thread

    seed_candidates(ctx)
    push_job(ctx, send=False)
    p = provider(ctx)
    server = start_server_thread(create_app(p.inbox, p.signer, now=p.now))
    try:
        path = path_of(links(ctx)[("p01", "shortlisting")])
        r = requests.get(server.url + path, timeout=10)
        assert r.status_code == 200 and "Shortlisting for the Peer Support Worker job" in r.text
        assert (
            r.headers["Cache-Control"] == "no-store"
            and "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        )
        assert requests.get(server.url + "/healthz", timeout=10).text == "ok"
    finally:
        server.stop()
    assert not server.thread.is_alive()
