"""The root of corecruit's one exception hierarchy, and the configuration error.

Apart from ``errors.py`` only so that ``templates.py`` can raise a
:class:`ConfigError` while ``errors.py`` reads the templates to show tab titles
and headers: without the split the two modules would import each other.
Import them from ``automations.errors`` as before.
"""

from __future__ import annotations


class CorecruitError(Exception):
    """Base class: an expected problem with a message safe to show and log."""

    exit_code = 1


class ConfigError(CorecruitError):
    """The configuration is missing, does not parse, or has a wrong value."""

    exit_code = 2

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        where = f"{file}" + (f", key '{key}'" if key else "")
        super().__init__(f"{where}: {message}")
