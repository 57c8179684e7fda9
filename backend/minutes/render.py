"""Minutes -> Confluence storage XHTML for the minutes page.

Every value is transcript-derived and untrusted: it is escaped as text (no element, attribute, macro or
entity of its own survives) and stripped of characters XML 1.0 forbids (Confluence refuses the page
otherwise). The only markup is ours: headings, lists, the action-item table and two note panels.
"""

from __future__ import annotations

import re
from html import escape

from backend.minutes.timecode import format_time
from backend.minutes.types import Minutes

# XML 1.0 allows \t \n \r and everything from U+0020 except the surrogates and U+FFFE/U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NONE = "None recorded."


def text(value: object) -> str:
    """Untrusted text as storage-format character data (also safe inside a double-quoted attribute)."""
    return escape(_NOT_XML.sub("", " ".join(str(value or "").split())), quote=True)


def render_storage(minutes: Minutes, *, recording_title: str = "") -> str:
    parts: list[str] = []
    if minutes.method == "extractive":
        # why (the model down, or its notes unsupported by the transcript) is in "How these minutes were made"
        parts.append(_panel("note", "Written without the language model",
                            "These minutes are the transcript's own sentences, picked without the language model "
                            "(see how these minutes were made, below). Check them against the recording."))
    facts = []
    if minutes.date:
        facts.append(f"<strong>Date:</strong> {text(minutes.date)}")
    if recording_title:
        facts.append(f"<strong>Recording:</strong> {text(recording_title)}")
    if facts:
        parts.append("<p>" + "<br />".join(facts) + "</p>")

    parts.append("<h2>Summary</h2>")
    parts.append("".join(f"<p>{text(p)}</p>" for p in _paragraphs(minutes.summary)) or f"<p>{NONE}</p>")
    parts.append("<h2>Decisions</h2>")
    parts.append(_list(minutes.decisions))
    parts.append("<h2>Action items</h2>")
    parts.append(_actions(minutes))
    parts.append("<h2>Topics</h2>")
    parts.append(_topics(minutes))
    parts.append("<h2>Attendees</h2>")
    parts.append(_list(minutes.attendees))
    parts.append("<h2>Open questions</h2>")
    parts.append(_list(minutes.open_questions))
    if minutes.notes:
        parts.append(_panel("info", "How these minutes were made", *minutes.notes))
    return "\n".join(parts)


def _paragraphs(summary: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", summary or "") if p.strip()]


def _list(items: list[str]) -> str:
    items = [i for i in items if str(i or "").strip()]
    if not items:
        return f"<p>{NONE}</p>"
    return "<ul>" + "".join(f"<li>{text(i)}</li>" for i in items) + "</ul>"


def _actions(minutes: Minutes) -> str:
    rows = [a for a in minutes.action_items if a.task.strip()]
    if not rows:
        return f"<p>{NONE}</p>"
    head = "<tr><th>Owner</th><th>Task</th><th>Due</th></tr>"
    body = "".join(f"<tr><td>{text(a.owner) or '<em>not named</em>'}</td><td>{text(a.task)}</td>"
                   f"<td>{text(a.due) or '<em>not said</em>'}</td></tr>" for a in rows)
    return f'<table class="confluenceTable"><tbody>{head}{body}</tbody></table>'


def _topics(minutes: Minutes) -> str:
    topics = [t for t in minutes.topics if t.title.strip()]
    if not topics:
        return f"<p>{NONE}</p>"
    items = []
    for t in topics:
        # the time names the point in the recording where the topic starts: "12:34" / "1:02:05"
        when = f"<strong>{format_time(t.start)}</strong> " if t.start is not None else ""
        items.append(f"<li>{when}{text(t.title)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _panel(kind: str, title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{text(p)}</p>" for p in paragraphs)
    return (f'<ac:structured-macro ac:name="{kind}"><ac:parameter ac:name="title">{text(title)}</ac:parameter>'
            f"<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>")
