"""Google API calls per job-like operation: corecruit's store against a naive baseline.

Runs the Google emulator (tests/google_emulator) on loopback and talks to it with
the real gspread / google-auth / requests stack. For each size N it measures, as
counted by the emulator (retries would count too; none are injected here):

* write: a job writes a tab of N rows (reads the tab list and the tab, then one
  ``values.batchUpdate``);
* read: a new run reads the tab;
* upsert: a job changes one row of N and adds one;
* append: a job appends one row by key;

and, in the same run, the naive baseline: gspread's ``worksheet.append_row`` once per
row written (N calls), and reading row by row with ``worksheet.row_values`` (N calls).
Above 1,000 rows the naive write uses ``worksheet.update`` of one row per call
instead (the same N calls): the emulator's ``values.append`` searches the whole
table each time, so 10,000 appends would take the emulator most of an hour.

    /work/venv/bin/python bench/google_api_calls.py            # 10, 100, 1000, 10000
    /work/venv/bin/python bench/google_api_calls.py 10 100     # chosen sizes
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from automations.google.auth import STORE_SCOPES  # noqa: E402
from automations.google.http import (  # noqa: E402
    RetryingHTTPClient,
    RetryPolicy,
    api_calls,
    authorized_session,
)
from automations.store import make_frame  # noqa: E402
from automations.store.google import GoogleStore, IdMemory  # noqa: E402
from automations.templates import ColumnSpec, TabSpec, WorkbookSpec  # noqa: E402
from tests.google_emulator.core import Emulator  # noqa: E402
from tests.google_emulator.transport import emulator_session  # noqa: E402

APPEND_MAX = 1000


def spec() -> WorkbookSpec:
    tab = TabSpec(
        id="ledger",
        label="Ledger",
        workbook="staff",
        key=("line_id",),
        columns=(
            ColumnSpec("line_id", "Line"),
            ColumnSpec("person_id", "Person"),
            ColumnSpec("activity", "Activity"),
            ColumnSpec("hours", "Hours", type="decimal"),
            ColumnSpec("amount", "Amount", type="decimal"),
            ColumnSpec("day", "Day", type="date"),
            ColumnSpec("paid", "Paid", type="boolean"),
        ),
    )
    return WorkbookSpec("staff", {"ledger": tab})


def rows(n: int, start: int = 0) -> pd.DataFrame:
    import datetime as dt
    from decimal import Decimal

    return make_frame(
        spec().tab("ledger"),
        [
            {
                "line_id": f"L{i:06d}",
                "person_id": f"p{i % 40:02d}",
                "activity": "=shortlisting" if i % 7 == 0 else "shortlisting",
                "hours": Decimal("2.5"),
                "amount": Decimal("37.50"),
                "day": dt.date(2027, 1, 1) + dt.timedelta(days=i % 90),
                "paid": i % 2 == 0,
            }
            for i in range(start, start + n)
        ],
    )


def measure(emu: Emulator, fn: Any) -> tuple[int, float, Any]:
    emu.reset_counts()
    t = time.perf_counter()
    out = fn()
    return emu.calls("sheets."), time.perf_counter() - t, out


def main(sizes: list[int]) -> None:
    from google.oauth2 import service_account

    emu = Emulator().start()
    try:
        session = emulator_session(emu)
        creds = service_account.Credentials.from_service_account_info(
            emu.service_account_info(), scopes=list(STORE_SCOPES)
        )
        authed = authorized_session(creds, session)
        http = RetryingHTTPClient(creds, session=authed, policy=RetryPolicy())
        import gspread

        naive_client = gspread.Client(creds, session=authorized_session(creds, session))
        ids = IdMemory(Path("/nonexistent-bench-ids.json"))
        ids.remember = lambda *a, **k: None  # type: ignore[method-assign]
        print(
            "| rows | op | corecruit calls | corecruit s | naive gspread calls | naive s "
            "| naive/corecruit calls |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|")
        calls_before = api_calls()
        for n in sizes:
            store = GoogleStore(spec(), http, title=f"bench {n}", ids=ids)
            store.init()
            sid = store.spreadsheet_id

            def fresh(sid: str = sid) -> GoogleStore:
                return GoogleStore(spec(), http, title="x", spreadsheet_id=sid)

            job = fresh()
            w_calls, w_s, _ = measure(emu, lambda job=job, n=n: job.write({"ledger": rows(n)}))
            r_calls, r_s, df = measure(emu, lambda: fresh().read_one("ledger"))
            assert len(df) == n
            change = pd.DataFrame({"line_id": ["L000000", "NEW"], "person_id": ["p99", "p98"]})
            u_calls, u_s, _ = measure(emu, lambda c=change: fresh().upsert("ledger", c))
            a_calls, a_s, _ = measure(
                emu, lambda n=n: fresh().append("ledger", rows(1, start=n + 5))
            )

            # the naive baseline, in a spreadsheet of its own
            base = GoogleStore(spec(), http, title=f"naive {n}", ids=ids)
            base.init()
            ws = naive_client.open_by_key(base.spreadsheet_id).worksheet("Ledger")
            values = [
                ["" if v is None or v is pd.NA else str(v) for v in r]
                for r in rows(n).itertuples(index=False)
            ]

            def naive_write(ws: Any = ws, values: list[list[str]] = values, n: int = n) -> None:
                if n > APPEND_MAX:
                    ws.resize(rows=n + 1)  # update (unlike append) does not grow the sheet
                for i, v in enumerate(values, start=2):
                    if n <= APPEND_MAX:
                        ws.append_row(v, value_input_option="RAW")
                    else:
                        ws.update([v], f"A{i}", value_input_option="RAW")

            def naive_read(ws: Any = ws, n: int = n) -> int:
                return sum(1 for i in range(2, n + 2) if ws.row_values(i))

            nw_calls, nw_s, _ = measure(emu, naive_write)
            nr_calls, nr_s, got = measure(emu, naive_read)
            assert got == n
            for op, c, s, nc, ns in (
                (
                    "write N rows" + (" (naive: update per row)" if n > APPEND_MAX else ""),
                    w_calls,
                    w_s,
                    nw_calls,
                    nw_s,
                ),
                ("read N rows", r_calls, r_s, nr_calls, nr_s),
                ("upsert 2 into N", u_calls, u_s, None, None),
                ("append 1 to N", a_calls, a_s, None, None),
            ):
                naive = f"{nc} | {ns:.2f} | {nc / c:.0f}x" if nc is not None else "– | – | –"
                print(f"| {n} | {op} | {c} | {s:.2f} | {naive} |")
            sys.stdout.flush()
        print(f"\n(api_calls() counter over the run: {api_calls() - calls_before})")
    finally:
        emu.stop()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000, 10000])
