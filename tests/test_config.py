"""Config errors name the file and the key, and say what is expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automations.config import load_settings, read_secret
from automations.errors import ConfigError
from automations.starter import STARTER


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_example_config_loads(config_dir: Path) -> None:
    s = load_settings(config_dir)
    camp = s.campaign(None)
    assert camp.id == "peer-support-2027"
    assert len(camp.criteria) == 4 and len(camp.questions) == 6
    assert str(s.org.rewards.rates["interview day"].amount) == "100.00"
    assert s.workspace == (config_dir.parent / "workspace").resolve()


@pytest.mark.parametrize("starter", [False, True])
def test_both_configs_set_sends_per_hour_commented(
    config_dir: Path, tmp_path: Path, starter: bool
) -> None:
    """The form server's hourly limit is in the example and starter configs, explained."""
    if starter:
        shutil.rmtree(config_dir)
        shutil.copytree(STARTER, config_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    forms = (config_dir / "organisation.toml").read_text().split("[forms]")[1].split("\n[")[0]
    line = next(x for x in forms.splitlines() if x.startswith("sends_per_hour"))
    assert line.split("#")[0].split("=")[1].strip() == "20" and len(line.split("#")[1]) > 20
    assert load_settings(config_dir).org.forms.sends_per_hour == 20


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "expected"),
    [
        (
            "campaigns/example.toml",
            'panel_mode = "separate"',
            'panel_mode = "both"',
            "campaign.panel_mode",
            "'mixed' or 'separate'",
        ),
        (
            "campaigns/example.toml",
            "shortlisting_deadline = 2027-01-22",
            'shortlisting_deadline = "soon"',
            "dates.shortlisting_deadline",
            "date",
        ),
        (
            "campaigns/example.toml",
            "seed = 2027",
            "seed = 2027\nsede = 1",
            "campaign.sede",
            "not known",
        ),
        ("campaigns/example.toml", 'id = "peer-support-2027"\n', "", "campaign.id", "required"),
        (
            "organisation.toml",
            'backend = "local"            # "local": .xlsx',
            'backend = "dropbox"  #',
            "storage.backend",
            "'local' or 'google'",
        ),
        (
            "organisation.toml",
            "port = 8765",
            "port = 99999",
            "forms.port",
            "less than or equal to 65535",
        ),
        (
            "organisation.toml",
            'amount = "100.00"',
            'amount = "lots"',
            "rewards.rates.interview day.amount",
            "use a number, like 2.5",
        ),
        (
            "organisation.toml",
            'amount = "100.00"',
            'amount = "1e2"',
            "rewards.rates.interview day.amount",
            "without an 'e'",
        ),
        (
            "organisation.toml",
            'amount = "100.00"',
            'amount = "100,00"',
            "rewards.rates.interview day.amount",
            "a comma can only separate thousands",
        ),
        (
            "campaigns/example.toml",
            'criteria = ["c4"]',
            'criteria = ["c9"]',
            None,
            "criterion 'c9'",
        ),
    ],
)
def test_config_error_names_file_and_key(
    config_dir: Path, file: str, old: str, new: str, key: str | None, expected: str
) -> None:
    _edit(config_dir / file, old, new)
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    msg = str(err.value)
    assert file.split("/")[-1] in msg
    if key:
        assert f"key '{key}'" in msg
    assert expected in msg


def test_toml_that_does_not_parse(config_dir: Path) -> None:
    (config_dir / "organisation.toml").write_text("[organisation\nname = 1")
    with pytest.raises(ConfigError, match=r"organisation.toml: this file is not valid TOML"):
        load_settings(config_dir)


def test_missing_file_and_folder(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "organisation.toml").unlink()
    with pytest.raises(ConfigError, match=r"organisation\.toml: this file is missing"):
        load_settings(config_dir)
    with pytest.raises(ConfigError, match="the config folder does not exist"):
        load_settings(tmp_path / "nowhere")


def test_secrets_are_refused_in_config_text(config_dir: Path) -> None:
    _edit(
        config_dir / "organisation.toml",
        'password_env = "CORECRUIT_SMTP_PASSWORD"',
        'password = "hunter2"',
    )
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    assert "key 'mail.smtp.password'" in str(err.value)
    assert "hunter2" not in str(err.value)
    assert "environment variable" in str(err.value)


def test_secret_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SECRET", "from-env")
    assert read_secret("X_SECRET", what="test secret") == "from-env"
    f = tmp_path / "s.txt"
    f.write_text("from-file\n")
    assert read_secret("X_SECRET", str(f), what="test secret") == "from-file"
    monkeypatch.delenv("X_SECRET")
    with pytest.raises(ConfigError, match="environment variable X_SECRET"):
        read_secret("X_SECRET", what="test secret")


def test_two_campaigns_need_a_choice(config_dir: Path) -> None:
    text = (config_dir / "campaigns/example.toml").read_text()
    (config_dir / "campaigns/second.toml").write_text(
        text.replace("peer-support-2027", "second-2027")
    )
    s = load_settings(config_dir)
    with pytest.raises(ConfigError, match="say which one with --campaign"):
        s.campaign(None)
    assert s.campaign("second-2027").id == "second-2027"
    (config_dir / "campaigns/third.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"already used by example\.toml"):
        load_settings(config_dir)


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        (
            "organisation.toml",
            'admin_email = "corecruit-admin@example.org"',
            'admin_email = "corecruit-admin@zq.org, boss@zq.org"',
            "organisation.admin_email",
        ),
        (
            "organisation.toml",
            'from_address = "recruitment@example.org"',
            'from_address = "Recruitment <recruitment@zq.org>"',
            "mail.from_address",
        ),
        (
            "organisation.toml",
            'from_address = "recruitment@example.org"',
            'from_address = "recruitment@example.org"\nreply_to = "replies@zq"',
            "mail.reply_to",
        ),
        (
            "campaigns/example.toml",
            'staff_editors = ["recruiting.manager@example.org"]',
            'staff_editors = ["recruiting.manager@example.org", "sam@zq.org;x@zq.org"]',
            "google.staff_editors",
        ),
    ],
)
def test_an_address_in_config_is_one_mailbox_named_by_file_and_key_never_shown(
    config_dir: Path, file: str, old: str, new: str, key: str
) -> None:
    _edit(config_dir / file, old, new)
    with pytest.raises(ConfigError) as err:
        load_settings(config_dir)
    msg = str(err.value)
    assert file.split("/")[-1] in msg and f"key '{key}'" in msg
    assert "must be one email address" in msg
    assert "zq" not in msg  # the value is never shown
    if key == "google.staff_editors":
        assert "entry 2" in msg


def test_addresses_in_config_are_trimmed_and_reply_to_may_be_empty(config_dir: Path) -> None:
    _edit(config_dir / "organisation.toml", '"corecruit-admin@example.org"', '" a@example.org "')
    org = load_settings(config_dir).org
    assert org.organisation.admin_email == "a@example.org" and org.mail.reply_to == ""
