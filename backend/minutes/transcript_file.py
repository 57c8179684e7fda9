"""Reading a transcript from a file: the JSON that `Transcript.to_json` writes, or plain text with one
`speaker: text` turn per line (optionally `[mm:ss] speaker: text`), so any meeting can be summarised."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backend.errors import BadRequest
from backend.minutes.timecode import parse_time
from backend.minutes.types import Segment, Transcript

# "Alice: ...", "Speaker 2: ...", "Dr. J. Smith: ...": a short label without sentence punctuation
_TURN = re.compile(r"^(?:\[(?P<time>[\d:.]+)\]\s*)?(?:(?P<speaker>[^:.?!\n]{1,40}?)\s*:\s+)?(?P<text>.*)$")


def read_transcript(path: str | Path) -> Transcript:
    raw = Path(path).read_text(encoding="utf-8", errors="replace")
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
            return Transcript.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"{path} looks like JSON but is not a transcript ({{\"segments\": [{{start, end, "
                             f"text, speaker}}]}}): {exc}") from None
    return parse_text(raw)


def parse_text(raw: str) -> Transcript:
    """One segment per non-empty line. Lines with a `[mm:ss]` prefix carry their time (a segment ends where
    the next begins); without times every segment is at 0, which the summariser reads as "untimed"."""
    segments: list[Segment] = []
    for line in raw.splitlines():
        m = _TURN.match(line.strip())
        if not m or not m.group("text").strip():
            continue
        start = parse_time(m.group("time") or "") or 0.0
        segments.append(Segment(start=start, end=start, text=m.group("text").strip(),
                                speaker=(m.group("speaker") or "").strip()))
    for seg, nxt in zip(segments, segments[1:], strict=False):
        seg.end = max(seg.start, nxt.start)
    return Transcript(segments=segments, duration=segments[-1].end if segments else 0.0)
