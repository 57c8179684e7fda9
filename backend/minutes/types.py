"""The values that flow through the minutes pipeline: a transcript in, minutes out (plain data, JSON-able)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str
    speaker: str = ""  # a name when known ("alice"), else an honest label ("Speaker 1") or ""


@dataclass
class Transcript:
    segments: list[Segment]
    language: str = ""
    duration: float = 0.0  # seconds of audio
    model: str = ""  # which speech model produced it ("" for a transcript read from text)

    @property
    def text(self) -> str:
        return "\n".join(f"{s.speaker}: {s.text}" if s.speaker else s.text for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        segs = [Segment(**{k: s[k] for k in ("start", "end", "text", "speaker") if k in s}) for s in data["segments"]]
        return cls(segments=segs, language=data.get("language", ""), duration=data.get("duration", 0.0),
                   model=data.get("model", ""))


@dataclass
class ActionItem:
    task: str
    owner: str = ""  # "" when nobody was named
    due: str = ""  # as said ("Friday", "2026-12-01"), "" when not said


@dataclass
class Topic:
    title: str
    start: float | None = None  # seconds into the recording, when known


@dataclass
class Minutes:
    title: str
    date: str = ""
    attendees: list[str] = field(default_factory=list)
    summary: str = ""
    decisions: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    method: str = "llm"  # "llm", or "extractive" when the LLM was unavailable (the page says so)
    notes: list[str] = field(default_factory=list)  # what went wrong on the way, for the page and the job

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Minutes:
        data = dict(data)
        data["action_items"] = [ActionItem(**a) for a in data.get("action_items", [])]
        data["topics"] = [Topic(**t) for t in data.get("topics", [])]
        return cls(**data)
