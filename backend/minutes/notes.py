"""What the model writes about a stretch of transcript ("notes"), and how its reply is checked and read.

The JSON schema asks for it (the server turns it into a grammar where it can); `validate` checks a
reply whatever the server did (a model without a grammar writes almost-JSON, extra keys, wrong types);
`parse_plain` reads the plain-text form that the last fallback prompt asks for. Both return `Notes`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from backend.minutes.timecode import parse_time
from backend.minutes.types import ActionItem, Topic

MAX_LIST = 8  # items per list in one window's notes: small models repeat themselves past a handful
MAX_TEXT = 400  # characters per item; the summary gets SUMMARY_CHARS
SUMMARY_CHARS = 1500

_STR = {"type": "string"}
_LIST = {"type": "array", "items": _STR, "maxItems": MAX_LIST}

# Every key required (the grammar then writes them in this order), lists may be empty. No maxLength:
# llama.cpp unrolls it into one nested rule per character and refuses the grammar past ~2000 repetitions
# (llama_cpp.server then crashed on the request); lengths are cut in `validate`, max_tokens bounds the rest.
SCHEMA: dict = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "decisions": _LIST,
        "action_items": {
            "type": "array", "maxItems": MAX_LIST,
            "items": {"type": "object",
                      "properties": {"owner": {"type": "string"}, "task": _STR,
                                     "due": {"type": "string"}},
                      "required": ["owner", "task", "due"]},
        },
        "topics": {
            "type": "array", "maxItems": MAX_LIST,
            "items": {"type": "object",
                      "properties": {"title": {"type": "string"},
                                     "start": {"type": "string"}},
                      "required": ["title", "start"]},
        },
        "open_questions": _LIST,
        "names": {"type": "array", "items": {"type": "string"}, "maxItems": 12},
    },
    "required": ["title", "summary", "decisions", "action_items", "topics", "open_questions", "names"],
}


@dataclass
class Notes:
    """One window's notes (or the merge of several): plain values, times in seconds."""

    title: str = ""
    summary: str = ""
    decisions: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.summary or self.decisions or self.action_items or self.topics or self.open_questions)


class InvalidNotes(ValueError):
    """The reply is not usable notes; the message says why, in words the model can act on in a retry."""


def validate(reply: str) -> Notes:
    """The notes in a JSON reply, or InvalidNotes. Lenient where the meaning is clear (a ```json fence,
    text around the object, a list item given as an object, a missing list), strict where it is not."""
    data = _json_object(reply)
    if not isinstance(data, dict):
        raise InvalidNotes("the reply is not a JSON object")
    summary = _text(data.get("summary"), SUMMARY_CHARS)
    notes = Notes(
        title=_text(data.get("title"), 120),
        summary=summary,
        decisions=_strings(data.get("decisions"), "decisions"),
        action_items=[a for a in (_action(x) for x in _list(data.get("action_items"), "action_items")) if a],
        topics=[t for t in (_topic(x) for x in _list(data.get("topics"), "topics")) if t],
        open_questions=_strings(data.get("open_questions"), "open_questions"),
        names=_strings(data.get("names"), "names"),
    )
    if not summary:
        raise InvalidNotes('"summary" is missing or empty: write two to four sentences about what was discussed')
    return notes


def _json_object(reply: str):
    text = (reply or "").strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise InvalidNotes("the reply contains no JSON object")
    try:
        return json.loads(text[start:end + 1])
    except ValueError as exc:
        raise InvalidNotes(f"the reply is not valid JSON ({exc.msg} at character {exc.pos})") from None


def _text(value, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = " ".join(str(v) for v in (value.values() if isinstance(value, dict) else value) if v)
    text = " ".join(str(value).split())
    return text[:limit].rstrip()


def _list(value, key: str) -> list:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise InvalidNotes(f'"{key}" must be a list')
    return value[:MAX_LIST]


def _strings(value, key: str) -> list[str]:
    out = []
    for item in _list(value, key):
        text = _text(item)
        if text and text.lower() not in ("none", "n/a", "-") and text not in out:
            out.append(text)
    return out


def _action(item) -> ActionItem | None:
    if isinstance(item, str):
        return parse_action_line(item)
    if not isinstance(item, dict):
        return None
    task = _text(item.get("task") or item.get("action") or item.get("description"))
    if not task:
        return None
    return ActionItem(task=task, owner=_none_to_empty(_text(item.get("owner") or item.get("assignee"), 80)),
                      due=_none_to_empty(_text(item.get("due") or item.get("due_date"), 60)))


def _topic(item) -> Topic | None:
    if isinstance(item, str):
        item = {"title": item}
    if not isinstance(item, dict):
        return None
    title = _text(item.get("title") or item.get("topic"), 120)
    if not title:
        return None
    return Topic(title=title, start=parse_time(str(item.get("start") or "")))


def _none_to_empty(text: str) -> str:
    return "" if text.lower() in ("", "none", "n/a", "unknown", "unassigned", "not said", "-", "null", "tbd") else text


# ---- the plain-text fallback ----------------------------------------------------------------------

# Headings the plain prompt asks for, and the variants small models write instead
_HEADINGS = {
    "title": "title", "summary": "summary", "overview": "summary",
    "decisions": "decisions", "decisions made": "decisions", "decision": "decisions",
    "action items": "action_items", "actions": "action_items", "action item": "action_items",
    "next steps": "action_items", "todo": "action_items", "to do": "action_items",
    "topics": "topics", "topics discussed": "topics", "agenda": "topics",
    "open questions": "open_questions", "questions": "open_questions", "unresolved questions": "open_questions",
    "names": "names", "people": "names", "participants": "names", "attendees": "names",
}
_HEADING = re.compile(r"^\s*(?:#+\s*)?\**\s*([A-Za-z][A-Za-z ]{1,30}?)\s*\**\s*(?::|$)\s*\**\s*(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+(.*)$")
_TIME_PREFIX = re.compile(r"^\[?\(?(\d{1,2}:\d{2}(?::\d{2})?)\)?\]?\s*[-–:]?\s*(.*)$")


def parse_plain(reply: str) -> Notes:
    """Notes from the plain-text form: `Heading:` lines followed by `- ` bullets (action items as
    `owner | task | due`, topics as `mm:ss topic`). Never raises: an unreadable reply gives empty notes,
    text before any heading is taken as the summary."""
    notes = Notes()
    section = "summary"
    summary: list[str] = []
    for raw in (reply or "").splitlines():
        line = raw.strip()
        if not line or set(line) <= set("-=*#_"):
            continue
        bullet = _BULLET.match(line)
        heading = None if bullet else _HEADING.match(line)
        if heading and heading.group(1).strip().lower() in _HEADINGS:
            section = _HEADINGS[heading.group(1).strip().lower()]
            line = heading.group(2).strip()
            if not line:
                continue
        item = (bullet.group(1) if bullet else line).strip().strip("*").strip()
        if not item or item.lower() in ("none", "none.", "n/a", "-"):
            continue
        if section == "title":
            notes.title = notes.title or _text(item, 120)
        elif section == "summary":
            summary.append(item)
        elif section == "action_items":
            action = parse_action_line(item)
            if action and len(notes.action_items) < MAX_LIST:
                notes.action_items.append(action)
        elif section == "topics":
            match = _TIME_PREFIX.match(item)
            title, start = (match.group(2), parse_time(match.group(1))) if match else (item, None)
            if title.strip() and len(notes.topics) < MAX_LIST:
                notes.topics.append(Topic(_text(title, 120), start))
        else:
            values = getattr(notes, section)
            text = _text(item)
            if text and text not in values and len(values) < MAX_LIST:
                values.append(text)
    notes.summary = _text(" ".join(summary), SUMMARY_CHARS)
    return notes


def parse_action_line(line: str) -> ActionItem | None:
    """`owner | task | due`, `owner: task (due Friday)`, or a bare task."""
    text = _text(line)
    if not text:
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) >= 2:
        owner, task, due = (parts + ["", ""])[:3]
        if not task:
            return None
        return ActionItem(task=task, owner=_none_to_empty(owner), due=_none_to_empty(due))
    due = ""
    m = re.search(r"\(\s*(?:due|by)\s*:?\s*([^)]{1,40})\)\s*$", text, re.I)
    if m:
        due, text = m.group(1).strip(), text[:m.start()].strip()
    m = re.match(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2})\s*:\s+(.+)$", text)
    if m:
        return ActionItem(task=m.group(2), owner=_none_to_empty(m.group(1)), due=due)
    return ActionItem(task=text, due=due)
