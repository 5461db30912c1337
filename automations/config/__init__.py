"""Load and validate configuration.

Layout of a config folder::

    config/organisation.toml        organisation-wide settings (storage, mail, forms, reward policy)
    config/campaigns/<id>.toml      one file a campaign

Every problem is raised as one :class:`~automations.errors.ConfigError` that names
the file and the key and says what was expected.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .models import (
    CampaignConfig,
    Criterion,
    OrganisationConfig,
    Question,
    ReminderRule,
    Scale,
)

__all__ = [
    "CampaignConfig",
    "Criterion",
    "OrganisationConfig",
    "Question",
    "ReminderRule",
    "Scale",
    "Settings",
    "load_settings",
    "read_secret",
]

_SECRET_WORDS = ("password", "secret", "private_key", "token", "api_key")
M = TypeVar("M", bound=BaseModel)


@dataclass
class Settings:
    """Everything loaded from one config folder."""

    config_dir: Path
    org: OrganisationConfig
    campaigns: dict[str, CampaignConfig] = field(default_factory=dict)
    campaign_files: dict[str, Path] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        """Resolve a path setting relative to the config folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.config_dir / p).resolve()

    @property
    def workspace(self) -> Path:
        return self.path(self.org.storage.workspace)

    def campaign(self, campaign_id: str | None) -> CampaignConfig:
        if campaign_id is None:
            if len(self.campaigns) == 1:
                return next(iter(self.campaigns.values()))
            raise ConfigError(
                str(self.config_dir / "campaigns"),
                None,
                f"there are {len(self.campaigns)} campaigns; say which one with --campaign",
            )
        try:
            return self.campaigns[campaign_id]
        except KeyError:
            known = ", ".join(sorted(self.campaigns)) or "none"
            raise ConfigError(
                str(self.config_dir / "campaigns"),
                None,
                f"no campaign with id '{campaign_id}' (known: {known})",
            ) from None


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _find_secret(data: Any, path: str = "") -> str | None:
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{path}.{k}" if path else str(k)
            low = str(k).lower()
            if (
                any(w in low for w in _SECRET_WORDS)
                and not low.endswith(("_env", "_file"))
                and isinstance(v, str)
                and v
            ):
                return key
            found = _find_secret(v, key)
            if found:
                return found
    return None


def parse_file(path: Path, model: type[M]) -> M:
    """Parse one TOML file into ``model``; raise ConfigError naming file and key."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, None, "this file is missing") from None
    except OSError as exc:
        raise ConfigError(file, None, f"this file cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"this file is not valid TOML: {exc}") from None
    secret = _find_secret(data)
    if secret:
        raise ConfigError(
            file,
            secret,
            "secrets must not be written in config. Put the secret in an environment variable "
            "and name it with a setting ending in '_env', or in a file named by one "
            "ending in '_file'",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            key = _key(err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "this setting is not known (check the spelling)"
            elif err["type"] == "missing":
                msg = "this setting is required"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            lines.append((key, msg))
        if len(lines) == 1:
            raise ConfigError(file, lines[0][0], lines[0][1]) from None
        detail = "; ".join(f"'{k}': {m}" for k, m in lines)
        raise ConfigError(file, lines[0][0], f"{len(lines)} problems: {detail}") from None


def load_settings(config_dir: str | Path = "config") -> Settings:
    """Load ``organisation.toml`` and every ``campaigns/*.toml`` under ``config_dir``."""
    root = Path(config_dir).resolve()
    if not root.is_dir():
        raise ConfigError(str(root), None, "the config folder does not exist")
    org = parse_file(root / "organisation.toml", OrganisationConfig)
    settings = Settings(config_dir=root, org=org)
    for path in sorted((root / "campaigns").glob("*.toml")):
        camp = parse_file(path, CampaignConfig)
        if camp.id in settings.campaigns:
            raise ConfigError(
                str(path),
                "campaign.id",
                f"'{camp.id}' is already used by {settings.campaign_files[camp.id].name}",
            )
        settings.campaigns[camp.id] = camp
        settings.campaign_files[camp.id] = path
    return settings


def read_secret(env: str, file: str = "", *, what: str, settings: Settings | None = None) -> str:
    """Fetch a secret from a file named in config or an environment variable."""
    if file:
        p = settings.path(file) if settings else Path(file)
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigError(str(p), None, f"the file holding the {what} cannot be read") from None
    if env and os.environ.get(env):
        return os.environ[env]
    raise ConfigError(
        "environment",
        env or None,
        f"the {what} is not set: put it in the environment variable {env or '(none named)'}",
    )
