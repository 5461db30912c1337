"""CPU of the redact job alone, called twice in one process on one workspace (issue 17).

Usage: python bench/redact_cpu.py CONFIG_DIR  (on a copy: the second call finds the first
call's record in the ledger, as a scheduled run finds the last run's)."""
import sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from automations.config import load_settings
from automations.context import make_context
from automations.jobs.redact import redact_job
ctx = make_context(load_settings(Path(sys.argv[1])))
for i in (1, 2):
    t = time.process_time(); res = redact_job(ctx); cpu = time.process_time() - t
    print(f"call {i}: cpu {cpu:.2f}s  {res.detail[:60]} written={res.rows_written}", flush=True)
