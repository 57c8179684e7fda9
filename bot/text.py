"""Slack's text as plain words: what a user typed (commands, mentions, thread replies) and what Lore posted
(mrkdwn with links), so both can be searched and handed to the model as conversation turns."""

from __future__ import annotations

import re

_LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(\|[^>]*)?>)+\s*")
_LABELLED_LINK = re.compile(r"<[^<>|]+\|([^<>]*)>")
_BARE_LINK = re.compile(r"<([^<>|]+)>")


def plain_text(text: str) -> str:
    """Text as Slack sends it (`&`, `<`, `>` escaped in commands and events) as the words the user typed."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def mention_question(text: str) -> str:
    """The question in a mention's text: without the leading @-mentions, as plain text."""
    return plain_text(_LEADING_MENTIONS.sub("", text))


def from_mrkdwn(text: str) -> str:
    """Lore's own mrkdwn (bot.blocks) back to plain text: links become their labels, escapes are undone."""
    text = _LABELLED_LINK.sub(r"\1", text)
    text = _BARE_LINK.sub(r"\1", text)
    return plain_text(text.replace("*", ""))
