"""The child process of bench/run_scale.py: one size, one backend, fresh workspace."""

from __future__ import annotations

import datetime as dt
import resource
import time
from pathlib import Path
from typing import Any

import synth

from automations.config import load_settings
from automations.context import Context, make_context
from automations.runner import Runner, available_jobs
from automations.store import make_frame
from automations.store.cells import parse_cell
from automations.workspace import init_campaign

NOW = dt.datetime(2027, 1, 25, 9, 0)


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


def fill_forms(ctx: Context, emu: Any) -> int:
    """Every panel member fills in every form pushed to them."""
    import fill

    return fill.fill_google(ctx, emu) if emu is not None else fill.fill_local(ctx)


def run(config: str, size: int, backend: str) -> dict[str, Any]:
    settings = load_settings(Path(config))
    factory_kw: dict[str, Any] = {}
    emu = None
    if backend == "google":
        from tests.google_emulator.fixtures import start_for_bench

        emu, settings, factory_kw = start_for_bench(settings)
    extras = factory_kw.pop("extras", {})

    def make(cid: str | None = None) -> Context:
        c = make_context(settings, cid, clock=lambda: NOW, **factory_kw)
        c.extras.update(extras)
        return c

    ctx = make()
    init_campaign(ctx)
    _load(ctx, size)
    runner = Runner(
        settings,
        clock=lambda: NOW,
        context_factory=lambda s, cid: make(cid),
    )
    if emu is not None:
        emu.reset_counts()
    timings: dict[str, float] = {}
    notes = []
    for job in available_jobs():
        t0 = time.perf_counter()
        recs = runner.run_once([job])
        timings[job] = time.perf_counter() - t0
        bad = [r for r in recs if r.outcome != "ok"]
        if bad:
            raise RuntimeError(f"{job} failed: {bad[0].detail}")
        if job == "forms_push":
            notes.append(f"{fill_forms(ctx, emu)} forms filled")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "size": size,
        "backend": backend,
        "jobs": timings,
        "total_seconds": sum(timings.values()),
        "peak_mb": peak,
        "api_calls": emu.calls() if emu is not None else 0,
        "notes": ", ".join(notes) or "-",
    }
