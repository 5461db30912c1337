"""The record grows with changes, and old versions no kept generation needs are forgotten."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from automations.ledger import TabChange
from automations.ledger.base import STAMP_NEW
from automations.ledger.sqlite import SqliteLedger


def _commit(led: SqliteLedger, n: int, at: str) -> int:
    change = TabChange(upserts={json.dumps(["k1"]): (0, json.dumps({"v": n}))})
    if n % 2 == 0:  # a second row that comes and goes
        change.upserts[json.dumps(["k2"])] = (1, json.dumps({"v": n}))
    else:
        change.removes.add(json.dumps(["k2"]))
    return led.commit("staff", {"t": change}, sheet_stamp=STAMP_NEW, kind="write", at=at)


def _versions(path: Path) -> int:
    with sqlite3.connect(path) as c:
        return int(c.execute("SELECT COUNT(*) FROM rows").fetchone()[0])


def test_prune_keeps_every_kept_generation_exactly(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "ledger.sqlite3")
    for n in range(1, 21):
        _commit(led, n, f"2027-01-{n:02d} 09:00:00")
    before = {g: led.rows("staff", ["t"], g) for g in range(1, 21)}
    versions = _versions(led.path)

    gone = led.prune("staff", keep_last=5, keep_since="2027-01-18 00:00:00")

    assert gone > 0 and _versions(led.path) == versions - gone
    for g in range(16, 21):  # the last five: rebuilt exactly as before
        assert led.rows("staff", ["t"], g) == before[g], g
    assert led.info("staff", 15) is None  # forgotten: an older copy has no base now
    assert led.base_generation("staff", 3) is None
    assert led.info("staff", 16) is not None


def test_prune_keeps_recent_days_even_past_keep_last(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "ledger.sqlite3")
    for n in range(1, 11):
        _commit(led, n, f"2027-01-{n:02d} 09:00:00")
    before = {g: led.rows("staff", ["t"], g) for g in range(1, 11)}
    led.prune("staff", keep_last=2, keep_since="2027-01-04 00:00:00")
    for g in range(4, 11):  # made on or after the 4th: kept
        assert led.rows("staff", ["t"], g) == before[g], g
    assert led.info("staff", 3) is None


def test_prune_with_nothing_old_forgets_nothing(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "ledger.sqlite3")
    for n in range(1, 4):
        _commit(led, n, f"2027-01-{n:02d} 09:00:00")
    versions = _versions(led.path)
    assert led.prune("staff", keep_last=10, keep_since="2027-01-01 00:00:00") == 0
    assert _versions(led.path) == versions
