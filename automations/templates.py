"""Sheet templates: the tables the jobs use, described as data in ``sheets_templates/``.

Each tab is one TOML file under ``sheets_templates/<workbook>/``. Keeping them as
data (not code) lets staff read what every column means, and lets ``init`` and
``check`` share one source of truth.

There are two workbooks and never one: ``staff`` holds identified data and
``panel`` holds only what panel members with lived experience may see. Sharing
in Google is per file, so that split is what keeps names away from the panel.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

from .error_types import ConfigError

WORKBOOKS = ("staff", "panel")
COLUMN_TYPES = ("text", "integer", "decimal", "money", "date", "datetime", "boolean")
FILLED_BY = ("staff", "job", "form")


def templates_root() -> Path:
    """Where ``sheets_templates/`` is: the one place that finds it.

    A built wheel carries it inside the package as ``automations/_sheets_templates``
    (see ``setup.py``), so ``pip install`` works without a checkout; an editable
    install reads the folder at the repo root, where staff edit it.
    """
    packaged = Path(str(resources.files("automations").joinpath("_sheets_templates")))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "sheets_templates"


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its id, what staff see, its type and who fills it in."""

    id: str
    label: str
    type: str = "text"
    required: bool = False
    filled_by: str = "staff"
    description: str = ""
    allowed: tuple[str, ...] = ()
    identifying: bool = False  # personal data that must never reach the panel workbook
    repeat: str | None = None  # "criteria": expands to one column per job criterion

    @property
    def job_owned(self) -> bool:
        return self.filled_by == "job"


@dataclass(frozen=True)
class TabSpec:
    """One tab of a workbook."""

    id: str
    label: str
    workbook: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    append_only: bool = False

    @property
    def column_ids(self) -> list[str]:
        return [c.id for c in self.columns]

    def column(self, column_id: str) -> ColumnSpec:
        for c in self.columns:
            if c.id == column_id:
                return c
        raise KeyError(column_id)

    def expand(self, n_criteria: int) -> TabSpec:
        """Expand repeated columns (``answer_{n}``) for a campaign with ``n_criteria``."""
        cols: list[ColumnSpec] = []
        for c in self.columns:
            if c.repeat == "criteria":
                for n in range(1, n_criteria + 1):
                    cols.append(
                        replace(
                            c,
                            id=c.id.format(n=n),
                            label=c.label.format(n=n),
                            description=c.description.format(n=n),
                            repeat=None,
                        )
                    )
            else:
                cols.append(c)
        return replace(self, columns=tuple(cols))


@dataclass(frozen=True)
class WorkbookSpec:
    """All the tabs of one workbook, in the order ``init`` creates them."""

    name: str
    tabs: dict[str, TabSpec] = field(default_factory=dict)

    def tab(self, tab_id: str) -> TabSpec:
        try:
            return self.tabs[tab_id]
        except KeyError:
            raise ConfigError(
                f"sheets_templates/{self.name}", tab_id, "no such tab in the templates"
            ) from None

    def expand(self, n_criteria: int) -> WorkbookSpec:
        return WorkbookSpec(self.name, {k: t.expand(n_criteria) for k, t in self.tabs.items()})


def _column(file: str, raw: dict[str, object], idx: int) -> ColumnSpec:
    where = f"columns[{idx}]"
    known = {f for f in ColumnSpec.__dataclass_fields__}
    extra = set(raw) - known
    if extra:
        raise ConfigError(file, f"{where}.{sorted(extra)[0]}", "unknown setting for a column")
    if "id" not in raw or "label" not in raw:
        raise ConfigError(file, where, "each column needs an 'id' and a 'label'")
    col = ColumnSpec(**{**raw, "allowed": tuple(raw.get("allowed", ()))})  # type: ignore[arg-type]
    if col.type not in COLUMN_TYPES:
        raise ConfigError(file, f"{where}.type", f"expected one of {', '.join(COLUMN_TYPES)}")
    if col.filled_by not in FILLED_BY:
        raise ConfigError(file, f"{where}.filled_by", f"expected one of {', '.join(FILLED_BY)}")
    return col


def load_tab(path: Path, workbook: str) -> TabSpec:
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"this template does not parse: {exc}") from None
    cols = tuple(_column(file, c, i) for i, c in enumerate(raw.get("columns", [])))
    ids = [c.id for c in cols]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ConfigError(file, "columns", f"column id '{sorted(dupes)[0]}' appears twice")
    key = tuple(raw.get("key", ()))
    for k in key:
        if k not in ids:
            raise ConfigError(file, "key", f"key column '{k}' is not one of the columns")
    return TabSpec(
        id=raw.get("id", path.stem),
        label=raw.get("label", path.stem),
        workbook=workbook,
        columns=cols,
        key=key,
        description=raw.get("description", ""),
        append_only=bool(raw.get("append_only", False)),
    )


def load_workbook_spec(name: str, root: Path | None = None) -> WorkbookSpec:
    """Load every tab template of workbook ``name`` (``staff`` or ``panel``)."""
    if name not in WORKBOOKS:
        raise ConfigError("sheets_templates", name, f"workbook must be one of {WORKBOOKS}")
    return _load_cached(name, (root or templates_root()).resolve())


@cache
def _load_cached(name: str, root: Path) -> WorkbookSpec:
    folder = root / name
    if not folder.is_dir():
        raise ConfigError(str(folder), None, "the sheet templates folder is missing")
    order_file = folder / "_order.txt"
    paths: Iterable[Path]
    if order_file.exists():
        names = [ln.strip() for ln in order_file.read_text().splitlines() if ln.strip()]
        listed = [folder / f"{n}.toml" for n in names]
        rest = sorted(p for p in folder.glob("*.toml") if p not in listed)
        paths = [p for p in listed if p.exists()] + rest
    else:
        paths = sorted(folder.glob("*.toml"))
    tabs = {}
    for p in paths:
        spec = load_tab(p, name)
        tabs[spec.id] = spec
    return WorkbookSpec(name, tabs)
