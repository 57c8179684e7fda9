"""A Slack thread as one document: which messages count, their text made readable, the title, version and link.

Pure functions on Slack's message JSON, so the rules are unit-tested without a server. People's messages count;
bot messages (Lore's own answers included) and channel notices (joins, leaves, topic changes, deleted-message
tombstones) do not.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

# Subtypes of messages people wrote (None: a plain message). Everything else is a notice or a bot's
# (channel_join, channel_leave, bot_message, channel_topic, tombstone, ...).
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
NOTICE_SUBTYPES = {"channel_join", "channel_leave", "group_join", "group_leave", "tombstone", "channel_topic",
                   "channel_purpose", "channel_name", "channel_archive", "channel_unarchive", "pinned_item",
                   "unpinned_item", "bot_add", "bot_remove"}
TITLE_WORDS = 10  # enough words of the root to tell threads apart in a list of sources
TITLE_CHARS = 90
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")

Names = Callable[[str], str]  # Slack user id -> the name to show


def by_person(message: dict) -> bool:
    """True for a message a person wrote (not a bot's, not a channel notice, not deleted)."""
    return (bool(message.get("user")) and not message.get("bot_id") and message.get("subtype") in PERSON_SUBTYPES
            and not message.get("hidden"))


def is_root(message: dict) -> bool:
    """A top-level message of the channel: not a reply, nor a reply also sent to the channel."""
    thread_ts = message.get("thread_ts")
    return not thread_ts or thread_ts == message.get("ts")


def is_thread(root: dict) -> bool:
    """A history message that starts a document: a person's root, or any root with replies (a bot's alert that
    people discussed), but never a notice or the tombstone of a deleted root."""
    if not is_root(root) or root.get("subtype") in NOTICE_SUBTYPES:
        return False
    return by_person(root) or int(root.get("reply_count") or 0) > 0


def activity(root: dict) -> float:
    """When the thread last changed, as far as the history listing shows: posted, root edited, last reply."""
    stamps = [root.get("ts"), (root.get("edited") or {}).get("ts"), root.get("latest_reply")]
    return max(float(s) for s in stamps if s)


def version(root: dict, replies: Iterable[dict] | None = None) -> str:
    """What the listing knows of the thread (reply count, last activity), plus, when its replies were read, a
    digest of their edits: an edited reply changes nothing the listing shows."""
    base = f"{int(root.get('reply_count') or 0)}:{activity(root):.6f}"
    edits = sorted(f"{m.get('ts')}@{m['edited'].get('ts')}" for m in replies or () if m.get("edited")
                   and m.get("ts") != root.get("ts"))
    if not edits:
        return base
    return f"{base}:{hashlib.sha1('|'.join(edits).encode()).hexdigest()[:12]}"


def when(ts: str | float) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


def iso(ts: str | float) -> str:
    return when(ts).isoformat(timespec="seconds")


def permalink(workspace_url: str, channel: str, ts: str) -> str:
    """Slack's message link form: https://<workspace>.slack.com/archives/<C>/p<ts without the dot>."""
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def plain(text: str, names: Names) -> str:
    """Slack's mrkdwn as readable text: <@U1> -> @name, <#C1|dev> -> #dev, <url|label> -> label (url), entities."""

    def link(match: re.Match) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + (label or names(target[1:]))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_LINK.sub(link, text or ""))


def title(channel_name: str, messages: list[dict], names: Names) -> str:
    """`#channel: the first words of the thread's first message`."""
    words = " ".join(plain(messages[0].get("text", ""), names).split()[:TITLE_WORDS]) if messages else ""
    if len(words) > TITLE_CHARS:
        words = words[:TITLE_CHARS - 1].rstrip() + "…"
    return f"#{channel_name}: {words}" if words else f"#{channel_name}"


def render(messages: list[dict], names: Names) -> str:
    """One line per message, oldest first: `Name (2026-11-02 09:00 UTC): text`, `(edited)` when it was."""
    lines = []
    for m in sorted(messages, key=lambda m: float(m["ts"])):
        text = plain(m.get("text", ""), names).strip()
        if not text:
            continue
        edited = " (edited)" if m.get("edited") else ""
        lines.append(f"{names(m['user'])} ({when(m['ts']):%Y-%m-%d %H:%M} UTC){edited}: {text}")
    return "\n".join(lines)


def people(messages: Iterable[dict]) -> list[dict]:
    """The messages of a thread (root and replies) that people wrote, oldest first."""
    return sorted((m for m in messages if by_person(m)), key=lambda m: float(m["ts"]))
