"""``corecruit redact``: anonymise the applications for the panel; review what was removed."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import click
import pandas as pd

from ..errors import JobError
from ..files import private_dir
from ..transforms.csv_cells import csv_cell, csv_restore
from . import State, friendly, main, pass_state


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise JobError(f"the file {path} does not exist") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise JobError(f"the file {path} is not a UTF-8 CSV file ({type(exc).__name__})") from None


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    """Every cell through the one CSV rule, so nothing opens as a formula."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([csv_cell(c) for c in df.columns])
            for row in df.itertuples(index=False):
                w.writerow([csv_cell(v) for v in row])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_mode(
    state: State, src: Path, dst: Path, key_path: Path | None, report_path: Path | None
) -> None:
    from ..jobs.redact import redact_frames

    apps = _read_csv(src)
    key = (
        _read_csv(key_path).map(csv_restore)  # the key was written through csv_cell
        if key_path and key_path.exists()
        else pd.DataFrame(columns=["application_id", "candidate_letter", "assigned_at", "retired"])
    )
    if "retired" in key.columns:
        key["retired"] = key["retired"].map(lambda v: str(v).strip().upper() == "TRUE")
    campaign_id, order, seed, style = "csv", "shuffled", 0, "letter"
    try:
        info = state.settings.campaign(state.campaign_id).campaign
        campaign_id, order, seed, style = info.id, info.letter_order, info.seed, info.own_name_as
    except Exception:  # CSV mode works without a config folder
        pass
    new_key, panel, report = redact_frames(
        apps, key, campaign_id=campaign_id, order=order, seed=seed, label_style=style
    )
    if key_path:
        out_key = new_key.copy()
        out_key["retired"] = out_key["retired"].map(lambda b: "TRUE" if b is True else "FALSE")
        out_key["assigned_at"] = out_key["assigned_at"].map(lambda v: "" if v is None else str(v))
        _write_csv(key_path, out_key)
    if report_path:
        _write_csv(report_path, report)
    _write_csv(dst, panel)
    click.echo(f"Anonymised {len(panel)} application(s) into {dst}.")
    if key_path:
        click.echo(f"Candidate key (keep it private): {key_path}")
    checks = report[report["unsure"] != ""]
    if len(checks):
        click.secho(
            f"{len(checks)} application(s) need a look before sharing"
            + (f": see {report_path}" if report_path else " (use --report-csv to list them)"),
            fg="yellow",
        )


@main.group(invoke_without_command=True)
@click.option("--dry-run", is_flag=True, help="Work everything out and say what would change.")
@click.option(
    "--from-csv",
    "from_csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Anonymise this CSV of applications instead of the staff workbook.",
)
@click.option(
    "--to-csv",
    "to_csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the anonymised CSV (with --from-csv).",
)
@click.option(
    "--key-csv",
    "key_csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Candidate key CSV, read and kept up to date so letters stay the same (private).",
)
@click.option(
    "--report-csv",
    "report_csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the redaction report (counts only, for staff).",
)
@click.pass_context
def redact(
    cctx: click.Context,
    dry_run: bool,
    from_csv: Path | None,
    to_csv: Path | None,
    key_csv: Path | None,
    report_csv: Path | None,
) -> None:
    """Anonymise applications for the panel: Candidate A, B, C, names and contacts removed.

    Reads the staff workbook's applications, keeps each candidate's letter for good,
    and writes the answers with names and contact details taken out to the panel
    workbook. What was removed is listed in the staff workbook's redaction report:
    please check it ('corecruit redact report') before sharing the panel workbook.
    Safe to run again at any time.
    """
    if cctx.invoked_subcommand is not None:
        return
    state: State = cctx.ensure_object(State)
    _run(state, dry_run, from_csv, to_csv, key_csv, report_csv)


@friendly
def _run(
    state: State,
    dry_run: bool,
    from_csv: Path | None,
    to_csv: Path | None,
    key_csv: Path | None,
    report_csv: Path | None,
) -> None:
    if from_csv or to_csv:
        if not (from_csv and to_csv):
            raise click.UsageError("--from-csv and --to-csv go together")
        _csv_mode(state, from_csv, to_csv, key_csv, report_csv)
        return
    from ..jobs.redact import redact_job

    res = state.by_hand("redact", lambda c: redact_job(c, dry_run=dry_run), log=not dry_run)
    click.echo(res.detail or res.summary())
    for a in res.attention:
        click.secho(f"Please look at: {a}", fg="yellow")


@redact.command()
@pass_state
@friendly
def report(state: State) -> None:
    """Show the redaction report: what was removed from each application, and what to check."""
    ctx = state.context()
    df = ctx.stores.staff.read_one("redaction_report")
    if not len(df):
        click.echo("No redaction report yet. Run 'corecruit redact' first.")
        return
    for _, r in df.iterrows():
        line = f"{r['application_id']}  Candidate {r['candidate_letter']}: "
        line += str(r["removed"] or "nothing removed")
        click.echo(line)
        if r["unsure"]:
            click.secho(f"    please check: {r['unsure']}", fg="yellow")
        if r["reviewed_by"]:
            click.echo(f"    reviewed by {r['reviewed_by']}")
    todo = int(((df["unsure"] != "") & (df["reviewed_by"] == "")).sum())
    click.echo(
        f"{len(df)} application(s); {todo} still to check in the staff workbook "
        f"(tab 'Redaction report', column 'Reviewed by')."
    )
    from ..review import review_words

    if held := review_words(ctx):  # the review gate: what the panel does not have yet
        click.echo(held)
