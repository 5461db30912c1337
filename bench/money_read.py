"""Reading amounts strictly: time per cell against the old lenient reader, in the same run.

The one strict reader (``transforms/money.py``, used by the store for every ``money`` and
``decimal`` cell) checks a pattern before making a Decimal; the old code stripped '£' and
commas and called Decimal. This prints the time per cell of each on the same mix of typed
amounts (text and number cells), and the ratio strict / old. Reading a whole tab costs far
more than this (opening the workbook), so a ratio of a few is fine.

    .venv/bin/python bench/money_read.py [cells]
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automations.store.cells import CellError, parse_cell


def old_decimal(v: object) -> Decimal:
    """The reader before the strict one (baseline): strip £ and commas, then Decimal."""
    if isinstance(v, float):
        return Decimal(str(int(v)) if v.is_integer() else repr(v))
    d = Decimal(str(v).replace("£", "").replace(",", "").strip())
    if not d.is_finite():
        raise InvalidOperation
    return d


def cells(n: int) -> list[object]:
    rng = random.Random(14)
    out: list[object] = []
    for _ in range(n):
        pounds, pence = rng.randint(0, 5000), rng.randint(0, 99)
        out.append(
            rng.choice(
                [
                    f"{pounds}.{pence:02d}",
                    f"£{pounds}.{pence:02d}",
                    f"{pounds:,}.{pence:02d}",
                    pounds + pence / 100,
                    pounds,
                ]
            )
        )
    return out


def per_cell(fn: object, values: list[object]) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for v in values:
            with contextlib.suppress(CellError, InvalidOperation, ValueError):
                fn(v)  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best / len(values) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    values = cells(n)
    old = per_cell(old_decimal, values)
    strict = per_cell(lambda v: parse_cell(v, "money"), values)
    number = per_cell(lambda v: parse_cell(v, "decimal"), values)
    print(f"{n} cells, best of 5")
    print("| reader | µs per cell | × old |")
    print("|---|---:|---:|")
    print(f"| old lenient (baseline) | {old:.2f} | 1.0 |")
    print(f"| strict money | {strict:.2f} | {strict / old:.1f} |")
    print(f"| strict decimal (hours, miles, scores) | {number:.2f} | {number / old:.1f} |")


if __name__ == "__main__":
    main()
