"""Owner-only files and folders, whatever the umask: every writer in corecruit uses these.

The workspace holds names, contact details, scores and live form links (workbooks,
letters, the outbox, the mail journal, the forms inbox, exports), so files are
0600 and folders 0700 however the process was started. This module imports
nothing from corecruit, so the lowest layers (stores, the mail seam) can use it;
:mod:`automations.workspace` exposes the same helpers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700
log = logging.getLogger("corecruit")
_warned: set[str] = set()


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can open, made with any missing parents."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            continue  # another process made it: it tightens its own
        os.chmod(d, DIR_MODE)  # mkdir's mode is cut by the umask; chmod is not
    return path


def secure_tree(root: Path) -> int:
    """Tighten a workspace made by an older version: folders 0700, files 0600.

    Only for corecruit's own folders (never a folder a person named for one export).
    Returns how many entries were changed.
    """
    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        return 0
    changed = 0
    for here, dirs, files in os.walk(root):
        for name, mode in [(here, DIR_MODE)] + [(os.path.join(here, f), FILE_MODE) for f in files]:
            with contextlib.suppress(OSError):
                st = os.lstat(name)
                if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
                    continue
                os.chmod(name, mode)
                changed += 1
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
    return changed


def private_file(path: Path) -> Path:
    """Make an existing file readable and writable by its owner only."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(os.stat(path).st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)
    return Path(path)


def write_private(path: Path, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` atomically (temp file, fsync, rename) as an owner-only file."""
    path = Path(path)
    private_dir(path.parent)
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp makes it 0600, whatever the umask
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def private_fd(path: Path, flags: int) -> int:
    """``os.open`` with O_CREAT, the file owner-only even if it was there before."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)
    return fd


def open_append(path: Path) -> IO[str]:
    """An owner-only file opened to add lines at the end (made when missing)."""
    private_dir(Path(path).parent)
    return os.fdopen(private_fd(Path(path), os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")


def warn_if_shared(path: Path, what: str) -> bool:
    """Warn once, in plain words, when ``path`` can be read by other users. True if so."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return False
    if not mode & 0o077:
        return False
    key = str(Path(path).resolve())
    if key not in _warned:
        _warned.add(key)
        log.warning(
            "The %s (%s) can be read by other people on this computer. Please make it "
            "readable by you only, for example with: chmod 600 %s",
            what,
            path,
            path,
        )
    return True
