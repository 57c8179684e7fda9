"""Answers as Slack Block Kit messages, within Slack's limits, with every piece of page or user text escaped.

Escaping `&`, `<`, `>` is also a defence: a page that says `<!channel>` or `<@U123>` cannot ping anyone,
and an answer cannot forge a link. Only links built here (`link`) reach Slack as links.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from backend.answers import SOURCES_ONLY, Answer, Source
from bot import messages

SECTION_CHARS = 3000  # Block Kit: the text of a section block
MAX_BLOCKS = 50  # Block Kit: blocks in one message
# Slack refuses messages whose blocks exceed ~13k characters (msg_blocks_too_long, shared/REFERENCE.md);
# 11k of text leaves room for the links' URLs being counted differently and for the JSON around them
MESSAGE_CHARS = 11_000
CONTEXT_ELEMENTS = 10  # Block Kit: elements in one context block
TITLE_CHARS = 150  # a source's title in the list: long enough to recognise, short enough to scan
SNIPPET_CHARS = 300  # a sources-only reply shows this much of each page's best passage
QUESTION_CHARS = 200  # the echoed question; the asker knows the rest
FALLBACK_CHARS = 300  # `text`: what notifications and screen readers show
FEEDBACK_ACTIONS = ("lore_feedback_helpful", "lore_feedback_not_helpful")
COMMENT_VIEW = "lore_feedback_comment"  # the modal a "not helpful" click opens: what was wrong (optional)
COMMENT_BLOCK, COMMENT_INPUT = "lore_comment", "lore_comment_text"
COMMENT_CHARS = 2000  # as backend.feedback.MAX_COMMENT_CHARS: Slack enforces it in the box

_CITATION = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)
_BULLET = re.compile(r"^(\s*)[-*]\s+", re.M)
_MARK = re.compile(r"</?mark>")


def escape(text: str) -> str:
    """The three characters Slack's mrkdwn gives meaning to (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """`<url|label>` that neither part can break out of: `|`, `<`, `>` and spaces are percent-encoded in the URL."""
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~.-_").replace("&", "&amp;")
    return f"<{safe_url}|{escape(label)}>"


def answer_mrkdwn(text: str, sources: list[Source]) -> str:
    """The model's Markdown-ish answer as Slack mrkdwn: escaped, `[n]` linked to source n, bold and bullets kept."""
    urls = {s.n: s.url for s in sources if s.url}
    out = escape(text.strip())
    out = _HEADING.sub(lambda m: f"*{m.group(1).strip()}*", out)
    out = _BOLD.sub(r"*\1*", out)
    out = _BULLET.sub(r"\1• ", out)
    return _CITATION.sub(lambda m: link(urls[int(m.group(1))], m.group(0)) if int(m.group(1)) in urls
                         else m.group(0), out)


def split(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, a line or a space, never inside a link or entity."""
    pieces = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    cut = -1
    for sep in ("\n\n", "\n", " "):
        cut = window.rfind(sep)
        if cut > limit // 2:  # a separator too early would leave a tiny first piece
            break
    if cut <= 0:
        cut = limit
    opened = text.rfind("<", 0, cut)
    if opened > text.rfind(">", 0, cut) and opened > 0:  # inside <url|label>: cut before it
        cut = opened
    amp = text.rfind("&", max(0, cut - 5), cut)  # &amp; &lt; &gt; are at most 5 characters
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _snippet(source: Source) -> str:
    """Search snippets are HTML-escaped with <mark> around matched words: as mrkdwn, with the matches in bold."""
    plain = html.unescape(_MARK.sub("\x00", source.snippet))
    return escape(_short(plain, SNIPPET_CHARS)).replace("\x00", "*")


def source_blocks(sources: list[Source]) -> list[dict]:
    links = [link(s.url, f"[{s.n}] {_short(s.title, TITLE_CHARS)}") for s in sources if s.url]
    return [_context(*links[i : i + CONTEXT_ELEMENTS]) for i in range(0, len(links), CONTEXT_ELEMENTS)]


def feedback_block(value: str) -> dict:
    labels = (f":thumbsup: {messages.HELPFUL}", f":thumbsdown: {messages.NOT_HELPFUL}")
    return {"type": "actions", "block_id": "lore_feedback", "elements": [
        {"type": "button", "action_id": action, "value": value, "text": {"type": "plain_text", "text": label}}
        for action, label in zip(FEEDBACK_ACTIONS, labels, strict=True)]}


def comment_modal(metadata: str) -> dict:
    """The optional "what was wrong?" modal; `metadata` (the answer and the vote) comes back on submit."""
    return {
        "type": "modal", "callback_id": COMMENT_VIEW, "private_metadata": metadata,
        "title": {"type": "plain_text", "text": messages.COMMENT_TITLE},
        "submit": {"type": "plain_text", "text": messages.COMMENT_SUBMIT},
        "close": {"type": "plain_text", "text": messages.COMMENT_SKIP},
        "blocks": [{"type": "input", "block_id": COMMENT_BLOCK, "optional": True,
                    "label": {"type": "plain_text", "text": messages.COMMENT_LABEL},
                    "element": {"type": "plain_text_input", "action_id": COMMENT_INPUT, "multiline": True,
                                "max_length": COMMENT_CHARS}}],
    }


def render_answer(answer: Answer, question: str, rule: str, feedback_value: str) -> dict:
    """One ephemeral message: the question, the answer (split into sections), notice, sources, rule, buttons.

    The answer's sections get what the other blocks leave of Slack's limits; an answer longer than that is cut
    at a clean point, with a line that says so.
    """
    head = [_context(messages.you_asked(escape(_short(question, QUESTION_CHARS))))]
    tail = []
    if answer.notice:
        tail.append(_context(f":information_source: {escape(answer.notice)}"))
    if not answer.text.strip() and not answer.sources:
        body = ""  # nothing but the notice to show
    elif answer.status == SOURCES_ONLY or not answer.text.strip():  # the sources are the answer: with snippets
        body = messages.sources_heading() + "\n" + "\n".join(
            f"{link(s.url, f'[{s.n}] {_short(s.title, TITLE_CHARS)}')}: {_snippet(s)}" for s in answer.sources)
    else:
        body = answer_mrkdwn(answer.text, answer.sources)
        tail += source_blocks(answer.sources)
    tail += [_context(rule), feedback_block(feedback_value)]
    sections = _fit(body, blocks_left=MAX_BLOCKS - len(head) - len(tail),
                    chars_left=MESSAGE_CHARS - _chars(head + tail))
    blocks = head + sections + tail
    fallback = _short(answer.text or messages.sources_heading(), FALLBACK_CHARS)
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks}


def _fit(body: str, blocks_left: int, chars_left: int) -> list[dict]:
    pieces = split(body)
    note = _section(f"_{messages.too_long()}_")
    if len(pieces) <= blocks_left and sum(map(len, pieces)) <= chars_left:
        return [_section(p) for p in pieces]
    kept, used = [], len(messages.too_long()) + 2
    for piece in pieces:
        room = min(chars_left - used, SECTION_CHARS)
        if len(kept) + 2 > blocks_left or room <= 0:
            break
        if len(piece) > room:
            piece = split(piece, room)[0] if room > 1 else ""
            if piece:
                kept.append(piece)
            break
        kept.append(piece)
        used += len(piece)
    return [_section(p) for p in kept] + [note]


def _chars(blocks: list[dict]) -> int:
    total = 0
    for b in blocks:
        if "text" in b:
            total += len(b["text"]["text"])
        for e in b.get("elements", []):
            total += len(e["text"]["text"] if e.get("type") == "button" else e.get("text", ""))
    return total


def text_message(text: str) -> dict:
    """A one-section ephemeral message (usage, busy, errors): `text` is mrkdwn built from messages.*."""
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}
