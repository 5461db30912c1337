"""Kill the runner (SIGKILL) at random points inside each job, run again, compare.

A campaign is played in two phases, each from a saved starting state:

* **intake**: the example campaign just set up, its redaction report checked by staff (the
  review gate); jobs ``redact``, ``forms_push``.
* **scoring**: intake done, every form filled in, four candidates invited, attendance
  and expense claims typed in by staff; jobs ``forms_collect``, ``merge``, ``rewards``,
  ``timetable``, ``remind``, ``coprod``.

For each trial: restore the phase's start, run the jobs before the chosen one, run the
chosen job in a child process and SIGKILL it after a random delay, then run every job
of the phase again to the end. On the Google path (``--backend google``) the emulator
lives in this process (so it survives the kill), its state is restored for each trial,
and Google faults (429 with and without Retry-After, 500, 503, connections dropped
before or after the request was applied) are injected before the killed run.

The final workbooks must equal those of an uninterrupted run, no message may be sent
twice, no ledger line doubled, no row lost, and no second Google form or spreadsheet
made. What is compared, and what is left out:

* each tab as the file (or the Google spreadsheet) holds it, read *without*
  corecruit's record (what a person opening it sees), and again *through* the record
  (what the next job sees), with the words the record says while reading it (a
  "put back N rows" here means the file on disk did not hold what the record held);
* left out: the **Status tab** (it repeats what the last runs said, and a killed run
  says less or more: a rerun may, say, not repeat "p06 scores on paper"), the **Run
  log** (a trial runs more jobs than the uninterrupted run, so it has more rows, each
  stamped with the time it ran), columns a job stamps with the time it ran, form link
  tokens and Google ids, and the audit note a rerun leaves on a message it confirmed.

    python bench/fault_injection.py --trials 100 [--backend local|google] [--jobs redact,merge]

Prints a table per job and a total; ``--record`` appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import copy
import datetime as dt
import email
import email.policy
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fill  # noqa: E402
import pandas as pd  # noqa: E402

from automations.config import Settings, load_settings  # noqa: E402
from automations.context import Context, make_context  # noqa: E402
from automations.review import mark_example_reviewed  # noqa: E402
from automations.runner import available_jobs  # noqa: E402
from automations.store import make_frame  # noqa: E402
from automations.workspace import init_campaign  # noqa: E402
from tests.google_emulator.fixtures import act_as  # noqa: E402

NOW = dt.datetime(2027, 1, 25, 9, 0)
PHASES = {
    "intake": ["redact", "forms_push"],
    "scoring": ["forms_collect", "merge", "rewards", "timetable", "remind", "coprod"],
}
# Tabs left out: what the runs said (Status) and when they ran (Run log); see the docstring.
SKIPPED_TABS = {"status", "run_log"}
# Columns whose value differs between two correct runs: fresh link tokens and Google ids,
# and the audit note a rerun leaves on a message it confirmed after an interruption.
VOLATILE = {
    "form_links": {"url", "form_id", "created_at", "expires_at"},
    "sent_messages": {"note", "content_hash", "transport_id"},
}


def stable_key(key: str) -> str:
    """A message key without the form id a link email carries (fresh on each run)."""
    return "|".join(str(key).split("|")[:4])


CHILD = textwrap.dedent("""
    import datetime as dt, sys, time
    sys.path.insert(0, {root!r})
    from automations.config import load_settings
    from automations.context import make_context
    from automations.runner import Runner
    settings = load_settings({config!r})
    now = dt.datetime.fromisoformat({now!r})
    kw, extras = {{}}, {{}}
    if {base_url!r}:
        import requests
        from automations.google.http import RetryPolicy
        from tests.google_emulator.transport import mount_emulator
        session = mount_emulator(requests.Session(), {base_url!r})
        policy = RetryPolicy(base_delay=0.05, max_delay=0.2, max_seconds=30)
        kw = {{"transport": session, "retry": policy}}
        extras = {{"google_transport": session, "google_retry": policy}}
    def factory(s, cid):
        c = make_context(s, cid, clock=lambda: now, **kw)
        c.extras.update(extras)
        return c
    r = Runner(settings, clock=lambda: now, context_factory=factory)
    print("start", flush=True)
    recs = r.run_once({jobs!r})
    bad = [x for x in recs if x.outcome != "ok"]
    for x in bad:
        print("FAILED", x.job, x.detail, file=sys.stderr)
    sys.exit(1 if bad else 0)
""")


class Google:
    """The emulator for the Google path, kept in this process across the children's kills."""

    def __init__(self) -> None:
        from tests.google_emulator.core import Emulator

        self.emu = Emulator().start()

    def configure(self, cfg: Path) -> None:
        key = cfg / "service-account.json"
        key.write_text(json.dumps(self.emu.service_account_info()))
        org = cfg / "organisation.toml"
        text = org.read_text(encoding="utf-8")
        for a, b in (
            ('backend = "local"            # "local": .xlsx', 'backend = "google"  # .xlsx'),
            ('backend = "local"            # "local": corecruit', 'backend = "google"  #'),
            ('credentials_file = ""', f'credentials_file = "{key}"'),
        ):
            assert a in text, a
            text = text.replace(a, b, 1)
        # the service account acts as the team's Workspace account (it owns no files itself)
        org.write_text(act_as(text, self.emu.default_principal_email), encoding="utf-8")

    def save(self) -> tuple[Any, Any]:
        with self.emu.lock:
            return copy.deepcopy(self.emu._state), self.emu.rng.getstate()

    def restore(self, saved: tuple[Any, Any]) -> None:
        with self.emu.lock:
            self.emu._state = copy.deepcopy(saved[0])
            self.emu.rng.setstate(saved[1])
            self.emu.clear_faults()

    def context(self, settings: Settings) -> Context:
        import requests

        from automations.google.http import RetryPolicy
        from tests.google_emulator.transport import mount_emulator

        session = mount_emulator(requests.Session(), self.emu.base_url)
        policy = RetryPolicy(base_delay=0.05, max_delay=0.2, max_seconds=30)
        c = make_context(settings, clock=lambda: NOW, transport=session, retry=policy)
        c.extras.update({"google_transport": session, "google_retry": policy})
        return c

    def inject(self, rng: random.Random) -> str:
        """Some faults for the next requests (used up in order; a rerun may meet the rest)."""
        done = []
        for _ in range(rng.randint(1, 3)):
            match = rng.choice(["sheets.", "drive.", "forms.", None])
            kind = rng.choice(["429", "429 retry-after", "500", "503", "drop", "drop after"])
            times = rng.randint(1, 2)
            if kind.startswith("drop"):
                self.emu.drop(
                    times=times, match=match, when="after" if "after" in kind else "before"
                )
            else:
                self.emu.fail(
                    int(kind[:3]),
                    times=times,
                    match=match,
                    retry_after=0.1 if "retry-after" in kind else None,
                )
            done.append(f"{kind}×{times}@{match or 'any'}")
        return ", ".join(done)

    def files(self) -> dict[str, int]:
        """How many spreadsheets and forms exist: a second one would be a duplicate."""
        with self.emu.lock:
            return {
                "spreadsheets": len(self.emu._state.get("sheets", {}).get("spreadsheets", {})),
                "forms": len(self.emu._state.get("forms", {}).get("forms", {})),
            }


def ctx_for(cfg: Path, google: Google | None) -> Context:
    settings = load_settings(cfg)
    return google.context(settings) if google else make_context(settings, clock=lambda: NOW)


def run_child(
    cfg: Path, jobs: list[str], kill_after: float | None, google: Google | None
) -> tuple[int, float]:
    code = CHILD.format(
        root=str(ROOT),
        config=str(cfg),
        now=NOW.isoformat(),
        jobs=jobs,
        base_url=google.emu.base_url if google else "",
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as p:
        assert p.stdout is not None
        p.stdout.readline()
        t0 = time.monotonic()  # the jobs start now (imports done): aim kills inside them
        if kill_after is not None:
            try:
                p.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
        p.wait()
        err = p.stderr.read() if p.stderr else ""
    if kill_after is None and p.returncode != 0:
        raise SystemExit(f"an uninterrupted run of {jobs} failed:\n{err[-3000:]}")
    return p.returncode, time.monotonic() - t0


def staff_acts(ctx: Context) -> None:
    """What staff type in between the phases: invitations, attendance, expense claims."""
    staff = ctx.stores.staff
    staff.forget()
    key = staff.read_one("candidate_key")
    invited = sorted(key["application_id"].astype(str))[:4]
    staff.upsert(
        "applications",
        pd.DataFrame([{"application_id": a, "status": "invited"} for a in invited]),
    )
    d = dt.date(2027, 1, 20)
    rows = [
        {"person_id": p, "activity": "shortlisting", "date": d, "hours": Decimal(3)}
        | {"confirmed_by": "Team manager"}
        for p in ("p03", "p05", "p06", "p07")
    ]
    claims = [
        {"claim_id": "C1", "person_id": "p03", "kind": "mileage", "activity": "shortlisting"}
        | {"date": d, "miles": Decimal(12)}
    ]
    staff.read(["attendance", "expense_claims"], refresh=True)
    staff.write(
        {
            "attendance": make_frame(staff.tab("attendance"), rows),
            "expense_claims": make_frame(staff.tab("expense_claims"), claims),
        }
    )


def snapshot(cfg: Path, google: Google | None) -> dict[str, object]:
    """Workbook contents without run-time stamps, as the files hold them and as corecruit's
    record gives them, plus what was sent and made."""
    ctx = ctx_for(cfg, google)
    settings = ctx.settings
    out: dict[str, object] = {}
    for store in (ctx.stores.staff, ctx.stores.panel):
        sync = store.sync
        # first the file as it is (no record: nothing merged, nothing committed), then
        # through the record, as the next job would read it
        for label, via in (("", None), ("record: ", sync)):
            store.sync = via
            store.forget()
            frames = store.read(list(store.spec.tabs), errors="collect")
            for tab_id, spec in store.spec.tabs.items():
                if tab_id in SKIPPED_TABS:
                    continue
                df = frames[tab_id].reset_index(drop=True)
                if tab_id == "sent_messages" and len(df):
                    df["message_key"] = df["message_key"].map(stable_key)
                drop = [c.id for c in spec.columns if c.filled_by == "job" and c.type == "datetime"]
                drop += [c for c in df.columns if c not in spec.column_ids]
                drop += [c for c in VOLATILE.get(tab_id, ()) if c in df.columns]
                out[f"{label}{store.spec.name}/{tab_id}"] = (
                    df.drop(columns=sorted(set(drop))).astype(str).values.tolist()
                )
        out[f"record: {store.spec.name} notices"] = store.notices
    outbox = settings.path(settings.org.mail.outbox)
    ids: collections.Counter[tuple[str, str]] = collections.Counter()
    for p in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        key = str(msg["X-Corecruit-Key"] or msg["To"] or "").replace("\n", "").strip()
        ids[(stable_key(key), str(msg["Subject"] or ""))] += 1
    out["outbox"] = sorted(ids.items())
    if google:
        out["google files"] = google.files()
    return out


def diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


class Phase:
    """A saved starting state (folder, and the emulator's state on the Google path)."""

    def __init__(self, folder: Path, google: Google | None) -> None:
        self.folder = folder
        self.google = google
        self.saved = google.save() if google else None

    def restore_to(self, dst: Path) -> Path:
        shutil.copytree(self.folder, dst)
        if self.google and self.saved is not None:
            self.google.restore(self.saved)
        return dst / "config"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--backend", choices=["local", "google"], default="local")
    ap.add_argument("--jobs", default="")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    wanted = [j for j in args.jobs.split(",") if j] or available_jobs()
    phases = {p: [j for j in js if j in wanted] for p, js in PHASES.items()}
    rng = random.Random(args.seed)
    google = Google() if args.backend == "google" else None
    base_dir = Path(tempfile.mkdtemp(prefix="corecruit-fault-"))
    try:
        # intake start: the example campaign, set up
        start = base_dir / "intake"
        cfg = start / "config"
        shutil.copytree(ROOT / "config", cfg)
        if google:
            google.configure(cfg)
        init_campaign(ctx_for(cfg, google), example=True)
        # staff have checked every redaction report row (the review gate), so the intake
        # phase makes the panel's forms and not only the letters
        run_child(cfg, ["redact"], None, google)
        mark_example_reviewed(ctx_for(cfg, google))
        starts = {"intake": Phase(start, google)}
        # scoring start: intake done, forms filled, staff's typing done
        start2 = base_dir / "scoring"
        cfg2 = starts["intake"].restore_to(start2)
        run_child(cfg2, PHASES["intake"], None, google)
        c2 = ctx_for(cfg2, google)
        filled = fill.fill_google(c2, google.emu) if google else fill.fill_local(c2)
        staff_acts(c2)
        starts["scoring"] = Phase(start2, google)
        print(f"{filled} forms filled for the scoring phase", flush=True)

        results: dict[str, collections.Counter[str]] = {}
        times: dict[str, float] = {}
        wants: dict[str, dict[str, object]] = {}
        for phase, jobs in phases.items():
            if not jobs:
                continue
            base = starts[phase].restore_to(base_dir / f"baseline-{phase}")
            for j in jobs:  # how long each job takes, to aim kills inside it
                _, times[j] = run_child(base, [j], None, google)
            wants[phase] = snapshot(base, google)
            for j in jobs:
                results[j] = collections.Counter()
        order = [(p, j) for p, js in phases.items() for j in js]
        dup_sends = 0
        faults_seen = 0
        for t in range(args.trials):
            phase, job = order[t % len(order)]
            jobs = phases[phase]
            cfg_t = starts[phase].restore_to(base_dir / f"t{t}")
            before = jobs[: jobs.index(job)]
            if before:
                run_child(cfg_t, before, None, google)
            note = google.inject(rng) if google else ""
            faults_seen += bool(note)
            delay = rng.uniform(0.05, max(0.1, times[job] * 0.95))
            code, _ = run_child(cfg_t, [job], delay, google)
            killed = code == -signal.SIGKILL
            run_child(cfg_t, jobs, None, google)
            if google:
                google.emu.clear_faults()
            got = snapshot(cfg_t, google)
            want = wants[phase]
            bad = diff(want, got)
            want_counts = dict(want["outbox"])  # type: ignore[call-overload]
            if any(n > want_counts.get(k, 0) for k, n in got["outbox"]):  # type: ignore[attr-defined]
                dup_sends += 1
            results[job]["killed" if killed else "finished before kill"] += 1
            results[job]["equal" if not bad else "different"] += 1
            if bad:
                saved = base_dir.parent / f"{base_dir.name}-diff-{t}.json"
                saved.write_text(
                    json.dumps({k: [want.get(k), got.get(k)] for k in bad}, default=str)[:200000]
                )
                print(
                    f"trial {t} ({job}, kill after {delay:.2f}s, {note}): differs in {bad} "
                    f"(both sides in {saved})",
                    flush=True,
                )
            shutil.rmtree(base_dir / f"t{t}")
        lines = [
            "| job | trials | killed inside the job | final state equal | different |",
            "|---|---:|---:|---:|---:|",
        ]
        tot: collections.Counter[str] = collections.Counter()
        for _, j in order:
            c = results[j]
            n = c["equal"] + c["different"]
            lines.append(f"| {j} | {n} | {c['killed']} | {c['equal']} | {c['different']} |")
            tot.update(c)
        lines.append(
            f"| **all** | {tot['equal'] + tot['different']} | {tot['killed']} | "
            f"{tot['equal']} | {tot['different']} |"
        )
        lines.append("")
        lines.append(
            f"Backend: {args.backend}. Trials with a message sent twice: {dup_sends}. "
            + (f"Trials with Google faults injected: {faults_seen}. " if google else "")
            + "Job times uninterrupted (s): "
            + ", ".join(f"{j} {times[j]:.2f}" for _, j in order)
        )
        table = "\n".join(lines)
        print(table)
        if args.record:
            cmd = "python bench/fault_injection.py " + " ".join(
                a for a in sys.argv[1:] if a != "--record"
            )
            with (ROOT / "bench" / "RESULTS.md").open("a") as fh:
                fh.write(
                    f"\n## Fault injection, {args.backend} (SIGKILL inside jobs, then run "
                    f"again)\n\n`{cmd}`\n\n{table}\n"
                )
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
        if google:
            google.emu.stop()


if __name__ == "__main__":
    main()
