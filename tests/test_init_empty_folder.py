"""``pip install`` then ``corecruit init`` in an empty folder: a starter config, then ``check``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from automations.cli import main
from automations.starter import STARTER


def test_init_then_check_in_an_empty_folder_with_the_installed_command(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("corecruit")
    if not exe.exists():
        pytest.skip("the corecruit command is not installed in this environment")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    init = run("init")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "config" / "organisation.toml").is_file()
    assert (tmp_path / "config" / "campaigns" / "example.toml").is_file()
    assert (tmp_path / "workspace" / "peer-support-2027" / "staff.xlsx").is_file()
    assert "What to edit first:" in init.stdout
    assert "1. config/organisation.toml" in init.stdout
    assert "2. config/campaigns/example.toml" in init.stdout
    check = run("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All good" in check.stdout


def test_init_example_in_an_empty_folder_and_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CORECRUIT_CONFIG", raising=False)
    first = CliRunner().invoke(main, ["init", "--example"])
    assert first.exit_code == 0, first.output
    assert "Loaded" in first.output and "What to edit first:" in first.output
    org = tmp_path / "config" / "organisation.toml"
    org.write_text(org.read_text().replace("Example Council", "Our Council"))
    again = CliRunner().invoke(main, ["init", "--example"])
    assert again.exit_code == 0, again.output
    assert "What to edit first:" not in again.output  # nothing of theirs is overwritten
    assert "Our Council" in org.read_text()
    check = CliRunner().invoke(main, ["check"])
    assert check.exit_code == 0, check.output


def test_the_starter_is_commented_and_holds_nothing_secret() -> None:
    files = sorted(STARTER.rglob("*.toml"))
    assert [f.relative_to(STARTER).as_posix() for f in files] == [
        "campaigns/example.toml",
        "organisation.toml",
    ]
    for f in files:
        text = f.read_text()
        assert text.startswith("# Starter")
        tomllib.loads(text)
        for line in text.splitlines():
            if line.lstrip().startswith("#") or "=" not in line:
                continue
            key = line.split("=", 1)[0].strip().lower()
            if any(w in key for w in ("password", "secret", "token", "private_key")):
                assert key.endswith(("_env", "_file")), line
