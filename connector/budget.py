"""A time budget for turning one item into text, checked cooperatively by our own (linear) conversion code.

Third-party parsers cannot be interrupted this way; attachments run in a child process instead
(`connector.extract.isolated`). Both report overruns so the runner remembers the item and skips that version.
"""

from __future__ import annotations

import time


class OverBudget(Exception):  # noqa: N818 - an outcome the source turns into `Skipped`, not a bug
    """Raised by `Deadline.check` once the item has used up its seconds."""

    def __init__(self, seconds: float):
        super().__init__(f"took longer than {seconds:g} s")
        self.seconds = seconds


class Deadline:
    """`seconds` from now; `check()` raises `OverBudget` after that. `None` seconds never expires."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.at = time.monotonic() + seconds if seconds is not None else None

    def check(self) -> None:
        if self.at is not None and time.monotonic() > self.at:
            raise OverBudget(self.seconds)
