"""Helpers for the review gate: switch it off for tests about other things, and check rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automations.context import Context


def no_review_gate(config_dir: Path) -> Path:
    """The example campaign with ``require_review = false``: for tests that are about
    something else and start from applications as if staff had already checked them."""
    path = config_dir / "campaigns" / "example.toml"
    text = path.read_text()
    assert "[campaign]\n" in text
    path.write_text(text.replace("[campaign]\n", "[campaign]\nrequire_review = false\n", 1))
    return config_dir


def mark_reviewed(ctx: Context, apps: list[str] | None = None, by: str = "R. Checker") -> int:
    """Staff fill in 'Reviewed by' on the Redaction report (every row, or these ids)."""
    st = ctx.stores.staff
    st.forget()
    report = st.read_one("redaction_report")
    n = 0
    for i, r in report.iterrows():
        if apps is None or r["application_id"] in apps:
            report.at[i, "reviewed_by"] = by
            n += 1
    st.write({"redaction_report": report})
    st.forget()
    return n


def report_rows(ctx: Context) -> pd.DataFrame:
    st = ctx.stores.staff
    st.forget()
    return st.read_one("redaction_report")
