"""Points in a recording as people write them: "mm:ss" under an hour, "h:mm:ss" from an hour on."""

from __future__ import annotations

import re

_TIME = re.compile(r"^\s*\[?(?:(\d{1,2}):)?(\d{1,3}):(\d{2})(?:\.\d+)?\]?\s*$")


def format_time(seconds: float) -> str:
    """12.7 -> "00:12", 754 -> "12:34", 3725 -> "1:02:05" (whole seconds, rounded down)."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def parse_time(text: str) -> float | None:
    """"12:34" -> 754.0, "1:02:05" -> 3725.0; None for anything else (the model may write "", "N/A")."""
    m = _TIME.match(text or "")
    if not m:
        return None
    hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
    if secs >= 60 or (m.group(1) and minutes >= 60):
        return None
    return float(hours * 3600 + minutes * 60 + secs)
