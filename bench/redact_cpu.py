"""CPU of the redact job alone, called twice in one process on one workspace (issue 17).

Usage: python bench/redact_cpu.py CONFIG_DIR  (on a copy: the second call finds the first
call's record in the ledger, as a scheduled run finds the last run's).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from automations.config import load_settings
from automations.context import make_context
from automations.jobs.redact import redact_job


def main(config: str) -> None:
    """Time each call of the job with the process's CPU clock (imports left out)."""
    warnings.simplefilter("ignore")
    ctx = make_context(load_settings(Path(config)))
    for i in (1, 2):
        start = time.process_time()
        res = redact_job(ctx)
        cpu = time.process_time() - start
        print(f"call {i}: cpu {cpu:.2f}s, {res.rows_read} read, {res.rows_written} written")


if __name__ == "__main__":
    main(sys.argv[1])
