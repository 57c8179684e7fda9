"""Pieces every attachment reader shares: a bounded text sink and the pipe-row format for tables."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Why 2M characters: ~330k words, ~1,700 chunks of 200 words, minutes of CPU embedding for one file. A longer
# extract is a data dump or a log, not prose someone searches; the first 2M characters still get indexed.
MAX_TEXT_CHARS = 2_000_000
# Why 200k cells: at ~10 characters a cell that is the same 2M-character budget; it also stops a 1M-row export
# from costing minutes of openpyxl/csv parsing before the character cap would notice.
MAX_CELLS = 200_000
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")  # more than one blank line carries no structure


class SinkFull(Exception):  # noqa: N818 - a signal that stops a reader early, not an error
    """Raised by `TextSink.add` once the budget is spent, so a reader unwinds out of nested loops."""


@dataclass
class TextSink:
    """Collects extracted text up to `max_chars`; cuts the last piece at a line end when possible."""

    max_chars: int = MAX_TEXT_CHARS
    max_cells: int = MAX_CELLS
    parts: list[str] = field(default_factory=list)
    size: int = 0
    cells: int = 0
    truncated: bool = False

    def add(self, text: str) -> None:
        if not text:
            return
        room = self.max_chars - self.size
        if len(text) > room:
            cut = text.rfind("\n", 0, room)
            if cut > 0:
                text = text[:cut]
            elif self.parts and self.parts[-1].endswith("\n"):
                text = ""  # a table row or line that does not fit is dropped whole, not cut mid-cell
            else:
                text = text[:room]
            self.truncated = True
        self.parts.append(text)
        self.size += len(text)
        if self.truncated:
            raise SinkFull

    def line(self, text: str) -> None:
        self.add(text + "\n")

    def row(self, values: Iterable[object]) -> None:
        """One table row as `| a | b |`; trailing empty cells dropped, empty rows skipped."""
        cells = [_cell(v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            return
        self.cells += len(cells)
        if self.cells > self.max_cells:
            self.truncated = True
            raise SinkFull
        self.line("| " + " | ".join(cells) + " |")

    def text(self) -> str:
        return _BLANK_RUNS.sub("\n\n", "".join(self.parts)).strip()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store 3 as 3.0
    elif hasattr(value, "isoformat"):
        value = value.isoformat()  # dates and times
    return " ".join(str(value).split()).replace("|", "\\|")


def short_reason(exc: BaseException) -> str:
    """The first line of a library exception, short enough to show a user."""
    text = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"
