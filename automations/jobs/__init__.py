"""Jobs: each reads what it needs, calls pure transforms, and writes in one batch.

Every job function has the shape ``job(ctx: Context, **options) -> JobResult`` so
the CLI and the scheduler call exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobResult:
    """Counts for the run log. ``detail`` never holds personal data."""

    job: str
    rows_read: int = 0
    rows_written: int = 0
    messages_sent: int = 0
    api_calls: int = 0
    detail: str = ""
    attention: list[str] = field(default_factory=list)  # things a person should look at

    def summary(self) -> str:
        parts = [f"{self.rows_read} rows read", f"{self.rows_written} written"]
        if self.messages_sent:
            parts.append(f"{self.messages_sent} messages sent")
        s = f"{self.job}: " + ", ".join(parts)
        return s + (f". {self.detail}" if self.detail else "")
