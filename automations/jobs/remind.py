"""``remind``: where the reminders run has always been found (the CLI, tests, benches).

The run itself chains the reminders with the rules sent by their own path, so it lives
with the other chained runs in :mod:`automations.pipelines`; this module only names it.
It is not a job module and holds no code of its own.
"""

from __future__ import annotations

from ..locks import job_lock
from ..pipelines import remind_job
from .reminders import RemindResult, preview

__all__ = ["RemindResult", "job_lock", "preview", "remind_job"]
