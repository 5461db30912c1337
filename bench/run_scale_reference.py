"""The floor bench/run_scale.py compares a run with: read both workbooks with
python-calamine and write every cell to SQLite in one transaction. Imports nothing of
corecruit (no pandas either), so it costs what the data costs.

    python bench/run_scale_reference.py WORKSPACE/CAMPAIGN
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import python_calamine


def reference(folder: Path) -> int:
    db = sqlite3.connect(folder.parent / "reference.sqlite3")
    cells = 0
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS cells (book TEXT, tab TEXT, r INT, c INT, v TEXT)")
        for book in ("staff.xlsx", "panel.xlsx"):
            wb = python_calamine.CalamineWorkbook.from_path(str(folder / book))
            for name in wb.sheet_names:
                rows = wb.get_sheet_by_name(name).to_python()
                batch = [
                    (book, name, i, j, str(v))
                    for i, r in enumerate(rows)
                    for j, v in enumerate(r)
                    if v != ""
                ]
                db.executemany("INSERT INTO cells VALUES (?,?,?,?,?)", batch)
                cells += len(batch)
    db.close()
    return cells


if __name__ == "__main__":
    print(reference(Path(sys.argv[1])))
