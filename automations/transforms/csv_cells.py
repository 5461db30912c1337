"""One rule for every CSV the package writes: a cell can never open as a formula. Pure.

A spreadsheet that opens a CSV runs a cell starting with ``=``, ``+``, ``-`` or ``@``
(or a tab or line break before one) as a formula, so an application id or a name typed
as ``=HYPERLINK(...)`` would become a live link or worse. Such a cell is written with a
leading apostrophe, which spreadsheets show as text. A plain number such as ``-15.00``
stays a number. :func:`csv_restore` undoes :func:`csv_cell` exactly, for the one CSV
corecruit reads back (the candidate key of ``redact --from-csv``).
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?", re.ASCII)


def _runs(s: str) -> bool:
    return s.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(s)


def csv_cell(value: object) -> str:
    """The text to write for one cell: never a formula, never 'nan' for an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    s = str(value)
    # also quote a value that already starts with apostrophes before a formula, so
    # csv_restore gives back exactly what was written
    return "'" + s if _runs(s.lstrip("'")) else s


def csv_restore(text: str) -> str:
    """The value :func:`csv_cell` was given (for a CSV corecruit wrote and reads back)."""
    if text.startswith("'") and _runs(text[1:].lstrip("'")):
        return text[1:]
    return text
