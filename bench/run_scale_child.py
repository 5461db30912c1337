"""The child processes of bench/run_scale.py: set up a workspace, fill forms, the reference.

Only what is measured runs as ``corecruit run --once`` (as cron runs it); this file makes
the data it runs on, in separate processes, so none of it is counted:

    python bench/run_scale_child.py setup CONFIG SIZE   # init + N invented applications
    python bench/run_scale_child.py fill CONFIG         # every pushed form filled in

The reference (python-calamine read + one SQLite write) is bench/run_scale_reference.py,
which imports nothing of corecruit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import synth

from automations.config import load_settings
from automations.context import Context, make_context
from automations.store import make_frame
from automations.store.cells import parse_cell
from automations.workspace import init_campaign


def _load(ctx: Context, size: int) -> None:
    staff = ctx.stores.staff
    people_spec = staff.tab("people")
    people = [
        {c.id: parse_cell(r.get(c.id, ""), c.type) for c in people_spec.columns}
        for r in synth.people(4)
    ]
    apps = synth.applications(size, n_criteria=len(ctx.campaign.criteria))
    with staff.locked():
        staff.read(["people", "applications"], refresh=True)
        staff.append("people", make_frame(people_spec, people))
        staff.append("applications", make_frame(staff.tab("applications"), apps))


def setup(config: str, size: int) -> None:
    """Init, N applications, redacted, and every redaction report row checked by staff
    (the review gate), so the measured run makes and fills forms as a real one would."""
    from automations.jobs.redact import redact_job

    ctx = make_context(load_settings(Path(config)))
    init_campaign(ctx)
    _load(ctx, size)
    redact_job(ctx)
    staff = ctx.stores.staff
    with staff.locked():
        report = staff.read_one("redaction_report", refresh=True)
        report["reviewed_by"] = "bench (invented applications)"
        staff.write({"redaction_report": report})


def fill(config: str) -> int:
    """Every panel member fills in every form pushed to them (local forms)."""
    import fill as fill_mod

    return fill_mod.fill_local(make_context(load_settings(Path(config))))


if __name__ == "__main__":
    what, config = sys.argv[1], sys.argv[2]
    if what == "setup":
        setup(config, int(sys.argv[3]))
    else:
        print(fill(config))
