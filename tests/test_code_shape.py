"""The package's shape stays as issue 16 left it: no import cycles, no job importing a job."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _measure() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("code_shape", ROOT / "bench" / "code_shape.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["code_shape"] = mod
    spec.loader.exec_module(mod)
    return mod.measure(ROOT / "automations")  # type: ignore[no-any-return]


def test_no_import_cycles_and_no_job_imports_a_job() -> None:
    m = _measure()
    assert m["cycle_groups"] == []
    assert m["job_imports"] == {}
    assert int(m["modules"]) > 90  # it read the package, not an empty folder  # type: ignore[call-overload]


def test_a_cycle_is_found_when_there_is_one(tmp_path: Path) -> None:
    """The check itself: two modules importing each other (one inside a function) count."""
    spec = importlib.util.spec_from_file_location("code_shape", ROOT / "bench" / "code_shape.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pkg = tmp_path / "pkg"
    (pkg / "jobs").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "jobs" / "__init__.py").write_text("")
    (pkg / "jobs" / "one.py").write_text("from . import two\n")
    (pkg / "jobs" / "two.py").write_text("")
    m = mod.measure(pkg)
    assert m["cycle_groups"] == [["pkg.a", "pkg.b"]]
    assert m["job_imports"] == {"pkg.jobs.one": ["pkg.jobs.two"]}
    assert m["imports_inside_functions"] == 1
