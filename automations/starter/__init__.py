"""The commented starter config ``corecruit init`` writes into a folder that has none.

Shipped as package data, so ``pip install corecruit`` then ``corecruit init`` works
without a checkout of the project. Nothing secret is in it: settings ending in
``_env`` or ``_file`` name where secrets live.
"""

from __future__ import annotations

import os
from pathlib import Path

STARTER = Path(__file__).resolve().parent
ORGANISATION = "organisation.toml"


def needs_starter(config_dir: Path) -> bool:
    """True when there is no organisation file yet (a new, empty folder)."""
    return not (config_dir / ORGANISATION).exists()


def write_starter(config_dir: Path) -> list[Path]:
    """Copy the starter files into ``config_dir``; never overwrite a file already there."""
    written: list[Path] = []
    has_campaign = any((config_dir / "campaigns").glob("*.toml"))
    for src in sorted(STARTER.rglob("*.toml")):
        rel = src.relative_to(STARTER)
        if rel.parts[0] == "campaigns" and has_campaign:
            continue
        dest = config_dir / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        os.replace(tmp, dest)  # a killed init leaves no half-written file
        written.append(dest)
    return written
