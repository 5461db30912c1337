"""The fast paths of issue 17 give exactly what the general code gave.

Keying a tab for the ledger reuses the last grid of the same layout row by row; text
cells skip the general reader; a column is read down the column with each distinct
value parsed once; a form spec is stored without ``dataclasses.asdict``. Each is
checked here against the slow, obvious way on the awkward values (87.50 and 87.5,
-0.0, True and 1, dates and datetimes, a formula with no saved value, pd.NA).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

import automations.store  # noqa: F401 - the store package first (import order of the seam)
from automations.forms.inbox import spec_from_json, spec_to_json
from automations.ledger import codec
from automations.ledger import merge as ledger_merge
from automations.store.cells import (
    NO_SAVED_VALUE,
    CellError,
    parse_cell,
    parse_column,
    storable_column,
    to_storable,
    to_text,
)
from automations.transforms import merge as score_merge
from automations.transforms.form_values import (
    CommentItem,
    FormSpec,
    ScaleItem,
    ScalePoint,
    Section,
)

AWKWARD: list[Any] = [
    "",
    " ",
    "abc",
    "=1+1",
    "0123",
    0,
    1,
    -3,
    True,
    False,
    1.0,
    -0.0,
    2.5,
    Decimal("87.50"),
    Decimal("87.5"),
    Decimal("-0"),
    dt.date(2027, 2, 15),
    dt.datetime(2027, 2, 15, 10, 30),
    dt.datetime(2027, 2, 15, 10, 30, 0, 123),
    None,
    NO_SAVED_VALUE,
    pd.NA,
    "15/02/2027",
    "yes",
    "12.50",
    "£3.20",
]
TYPES = ("text", "integer", "decimal", "money", "boolean", "date", "datetime")


def _canon_slowly(raw: Any, col_type: str) -> Any:
    try:
        value = parse_cell(raw, col_type, negative=True)
    except CellError:
        return {"x": to_text(raw)}
    stored = to_storable(value, col_type)
    if isinstance(stored, str) and stored == "":
        return None
    return codec.tag(stored)


@pytest.mark.parametrize("col_type", TYPES)
def test_canon_is_the_general_reader(col_type: str) -> None:
    for v in AWKWARD:
        assert codec.canon(v, col_type) == _canon_slowly(v, col_type), (col_type, repr(v))


@pytest.mark.parametrize("col_type", TYPES)
def test_parse_column_is_parse_cell_down_the_column(col_type: str) -> None:
    cells = AWKWARD * 2  # each value twice: the second is the remembered one
    values, bad = parse_column(cells, col_type)
    assert len(values) == len(cells)
    for i, v in enumerate(cells):
        try:
            want = parse_cell(v, col_type)
        except CellError as exc:
            assert str(bad[i]) == str(exc)
            assert values[i] is parse_cell(None, col_type) or values[i] == parse_cell(
                None, col_type
            )
            continue
        assert i not in bad
        got = values[i]
        assert type(got) is type(want) and (got is want or got == want), (col_type, repr(v))
        if isinstance(want, Decimal):
            assert str(got) == str(want)


def test_storable_column_is_to_storable_down_the_column() -> None:
    values = ["", "a", " ", "=1", None, pd.NA, 3, Decimal("1.50"), dt.date(2027, 1, 1)]
    for col_type in TYPES:
        for as_number in (False, True):
            try:
                want = [to_storable(v, col_type, as_number=as_number) for v in values]
            except (TypeError, ValueError, ArithmeticError):
                continue  # a value this column cannot hold either way
            assert storable_column(values, col_type, as_number=as_number) == want


def _fresh(cols: list[ledger_merge.Column], rows: list[list[Any]]) -> ledger_merge.Keyed:
    ledger_merge._LAST.clear()
    return ledger_merge.keyed(cols, ["a"], rows)


def test_keying_against_the_last_grid_is_keying_afresh() -> None:
    """Rows equal in value but not in kind or digits (87.50 / 87.5, 1 / True / 1.0,
    -0.0 / 0.0, a date / a datetime) are never taken for the row that was there."""
    cols = [
        ledger_merge.Column("a"),
        ledger_merge.Column("b", "decimal", as_number=True),
        ledger_merge.Column("c"),
        ledger_merge.Column("d", "datetime"),
        ledger_merge.Column(None),
    ]
    pool = [
        "x",
        "y",
        "",
        None,
        1,
        True,
        1.0,
        -0.0,
        0.0,
        Decimal("87.50"),
        Decimal("87.5"),
        dt.datetime(2027, 1, 1),
        dt.date(2027, 1, 1),
        "87.50",
    ]
    rnd = random.Random(17)
    for _ in range(300):
        rows = [[rnd.choice(pool) for _ in range(5)] for _ in range(rnd.randint(0, 6))]
        ledger_merge.keyed(cols, ["a"], rows)  # the last grid of this layout
        changed = [list(r) for r in rows]
        for r in changed:
            if rnd.random() < 0.5:
                r[rnd.randrange(5)] = rnd.choice(pool)
        if rnd.random() < 0.2:
            changed.insert(rnd.randint(0, len(changed)), [rnd.choice(pool) for _ in range(5)])
        got = ledger_merge.keyed(cols, ["a"], changed).as_ledger()
        assert got == _fresh(cols, changed).as_ledger(), (rows, changed)


def test_a_stored_spec_is_the_json_asdict_gave() -> None:
    points = (ScalePoint(1, "None"), ScalePoint(2, ""), ScalePoint(3, "Some evidence"))
    items: tuple[ScaleItem | CommentItem, ...] = (
        ScaleItem("score__A__c1", "A", "c1", "Candidate A: équipe", points, "ctx «ok»"),
        CommentItem("comment__A__c1", "A", "c1", "Your notes on Candidate A"),
        ScaleItem("score__B__c1", "B", "c1", "Candidate B", points, cant_score=True),
    )
    spec = FormSpec(
        key="k",
        campaign_id="camp",
        stage="shortlisting",
        person_id="p1",
        title="Scores",
        intro="Hello",
        sections=(Section("s1", "Page 1", "", items), Section("s2", "Page 2")),
        candidate_order=("A", "B"),
        question_order=("c1",),
        order_seed="seed",
    )
    data = dataclasses.asdict(spec)
    for sec, s in zip(data["sections"], spec.sections, strict=True):
        for d, item in zip(sec["items"], s.items, strict=True):
            d["kind"] = "scale" if isinstance(item, ScaleItem) else "comment"
    text = spec_to_json(spec)
    assert text == json.dumps(data, ensure_ascii=False, sort_keys=True)
    assert spec_from_json(text) == spec


def _z_slowly(v: Fraction, mean: Fraction, sd: Fraction) -> Fraction:
    got = score_merge.to_decimal((v - mean) / sd, 6)
    assert got is not None
    return Fraction(got)


def test_z_scores_and_spreads_on_whole_numbers_are_exact() -> None:
    """The merge's spreads (from count, sum and sum of squares) and z-scores (whole-number
    factors, rounded to millionths) against the definitions worked on Fractions."""
    rnd = random.Random(5)
    for _ in range(500):
        den = rnd.choice((1, 2, 3, 4, 7))
        nums = [rnd.randint(0, 40) for _ in range(7)]
        values = [Fraction(v, den) for v in nums]
        n, total = len(nums), sum(nums)
        mean = sum(values, Fraction(0)) / n
        sd = score_merge._Spreads(den)(n, total, sum(v * v for v in nums))
        want_var = sum(((v - mean) ** 2 for v in values), Fraction(0)) / n
        assert sd == score_merge._sqrt(want_var)
        if sd:
            a, b = score_merge._z_factors(den, n, sd)
            for v, value in zip(nums, values, strict=True):
                got = Fraction(score_merge._round6((n * v - total) * a, b), score_merge._Z_SCALE)
                assert got == _z_slowly(value, mean, sd)
