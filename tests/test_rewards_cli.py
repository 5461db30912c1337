"""``corecruit rewards`` from the command line: thin wrappers over the same job functions."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

from click.testing import CliRunner

from automations.cli import main
from automations.context import Context
from automations.store import make_frame


def run(config_dir: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["--config", str(config_dir), "rewards", *args])
    return res.exit_code, res.output


def test_the_rewards_commands(ctx: Context, config_dir: Path, tmp_path: Path) -> None:
    staff = ctx.stores.staff
    staff.read(["attendance"])
    staff.write({"attendance": make_frame(staff.tab("attendance"), [
        {"person_id": p, "activity": "interview day", "date": dt.date(2027, 2, 8),
         "confirmed_by": "Priya"} for p in ("p03", "p06")
    ] + [{"person_id": "p03", "activity": "decision meeting", "date": dt.date(2027, 2, 10),
          "hours": D(1), "confirmed_by": "Priya"}])})  # fmt: skip

    code, out = run(config_dir)
    assert code == 0 and "3 new ledger line(s)" in out
    code, out = run(config_dir, "accrue")
    assert code == 0 and "0 new ledger line(s)" in out

    code, out = run(config_dir, "statement")
    assert code == 2 and "give one person ID, or --all" in out
    code, out = run(config_dir, "statement", "p99")
    assert code == 1 and "p99 is not on the People tab" in out
    code, out = run(config_dir, "statement", "--all")
    assert code == 0 and "1 statement(s) sent" in out
    assert "Please look at: p06 has no email address" in out

    code, out = run(config_dir, "export")
    assert code == 0 and "Nothing new to export" in out
    led = staff.read_one("rewards_ledger")
    led["approved_by"] = "Priya"
    staff.write({"rewards_ledger": led})
    run(config_dir)
    target = tmp_path / "finance.csv"
    code, out = run(config_dir, "export", "--out", str(target))
    # p03: £100.00 + £15.00; p06: £100.00 -> £215.00
    assert code == 0 and "3 line(s), £215.00 in all" in out
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[-1]["row_type"] == "batch total" and rows[-1]["amount"] == "215.00"

    code, out = run(config_dir, "estimate")
    # staff first: the three whose plan passes the earnings limit wait for staff
    assert code == 0 and "1 estimate(s) sent" in out
    assert "earnings limit" in out and "not sent until you mark the item resolved" in out
