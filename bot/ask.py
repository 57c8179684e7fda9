"""The slow half of `/ask`, @-mentions and direct messages, run by the bounded pool after the acknowledgement: who asks,
the answer pipeline, Block Kit, and the post (the command's `response_url`, or the mention's thread).

Whatever fails (Slack, Confluence, Elasticsearch, a bug) the asker gets a message: never silence.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.errors import LoreError
from bot import blocks, messages
from bot.feedback import button_value, record_answer
from bot.slack import SlackError, post_message, respond, thread_messages
from bot.text import from_mrkdwn, mention_question

if TYPE_CHECKING:
    from bot.runtime import SlackBot

log = logging.getLogger(__name__)

THREAD_MESSAGES = 50  # earlier messages read from a thread; the prompt keeps only the last few turns anyway


@dataclass(frozen=True)
class AskRequest:
    question: str
    user_id: str
    response_url: str
    channel_id: str = ""
    team_id: str = ""
    received: float = field(default_factory=time.monotonic)


def answer(bot: SlackBot, req: AskRequest) -> None:
    context = _context(req.user_id, req.channel_id, req.received)

    def who() -> tuple[list[str], str, dict]:
        asker = bot.identities.asker(req.user_id)
        return asker.identities, asker.rule, {"public_only": asker.public_only}

    message = _compose(bot, req.question, req.user_id, req.channel_id, context, who, list)
    post(bot, req.response_url, message, context)


def _context(user_id: str, channel_id: str, received: float) -> dict:
    """What every log line of one answer carries; `answer_id` also joins the feedback clicks (bot/feedback.py)."""
    return {"answer_id": uuid.uuid4().hex[:16], "slack_user": user_id, "slack_channel": channel_id,
            "queue_ms": round((time.monotonic() - received) * 1000)}


def _compose(bot: SlackBot, question: str, user_id: str, channel_id: str, context: dict,
             who: Callable[[], tuple[list[str], str, dict]], history: Callable[[], list[dict]]) -> dict:
    """Ask the pipeline as `who()` says (identities, the rule to show, log fields) and render the message; any
    failure becomes a friendly message, never silence."""
    try:
        identities, rule, extra = who()
        result = bot.services.answerer.ask(question, identities, history())
        message = blocks.render_answer(result, question, rule, button_value(context["answer_id"]))
        record_answer(bot, context["answer_id"], question, result, user_id, channel_id, context)
        log.info("answered on Slack", extra={**context, **extra, "status": result.status,
                                             "sources": len(result.sources), **result.timings})
        return message
    except LoreError as exc:
        log.warning("could not answer on Slack: %s", exc, extra={**context, "code": exc.code})
        return blocks.text_message(messages.failed(exc.code))
    except Exception:  # a bug must still reach the asker as a message, not as silence
        log.exception("could not answer on Slack", extra=context)
        return blocks.text_message(messages.failed("internal_error"))


def post(bot: SlackBot, response_url: str, message: dict, context: dict) -> None:
    """Post to `response_url`; if Slack refuses the message itself (bad blocks), post a plain failure instead."""
    try:
        respond(bot.settings.slack, response_url, message)
        return
    except SlackError as exc:
        log.error("Slack refused the reply: %s", exc, extra=context)
        if exc.retryable:  # Slack is unreachable or overloaded even after retries: nothing more to try
            return
    try:
        respond(bot.settings.slack, response_url, blocks.text_message(messages.failed("slack_refused")))
    except SlackError as exc:
        log.error("Slack refused the failure notice too: %s", exc, extra=context)


@dataclass(frozen=True)
class MessageRequest:
    """An @-mention in a channel, or a direct message to Lore (`private`: only the asker reads the reply)."""

    question: str  # empty: the message had no question
    user_id: str
    channel_id: str
    ts: str  # the message itself
    thread_ts: str  # the thread to answer in ("" for a top-level reply, as in a DM)
    private: bool = False
    received: float = field(default_factory=time.monotonic)

    @property
    def in_thread(self) -> bool:
        """True for a follow-up in an existing thread (which has earlier turns to read)."""
        return bool(self.thread_ts) and self.thread_ts != self.ts


def answer_message(bot: SlackBot, req: MessageRequest) -> None:
    """Answer a mention in its thread, or a DM where it was written. A channel reply is read by the whole
    channel, so it uses only pages every member may open, whoever asked; a DM is read by the asker alone, so it
    uses their pages, like /ask."""
    context = _context(req.user_id, req.channel_id, req.received)
    if not req.question:
        message = blocks.text_message(messages.dm_usage() if req.private else messages.mention_usage())
    else:
        def who() -> tuple[list[str], str, dict]:
            if req.private:
                asker = bot.identities.asker(req.user_id)
                return asker.identities, asker.rule, {"private": True}
            channel = bot.identities.channel(req.channel_id)
            return channel.identities, channel.rule, {"private": False, "audience": len(channel.identities)}

        message = _compose(bot, req.question, req.user_id, req.channel_id, context, who,
                           lambda: thread_history(bot, req) if req.in_thread else [])
    post_in_thread(bot, req.channel_id, req.thread_ts, message, context)


def thread_history(bot: SlackBot, req: MessageRequest) -> list[dict]:
    """The thread's earlier turns, read from Slack itself (never from what a request claims): Lore's messages
    are the assistant's turns, people's the user's, other apps' are left out. Slack unreachable: no turns."""
    try:
        found = thread_messages(bot.client, req.channel_id, req.thread_ts, THREAD_MESSAGES)
    except SlackError as exc:
        log.warning("could not read the thread; answering the mention on its own: %s", exc)
        return []
    me = bot.bot_user_id()
    turns = []
    for m in sorted(found, key=lambda m: float(m.get("ts") or 0)):
        if float(m.get("ts") or 0) >= float(req.ts or 0):
            continue  # the mention itself, and anything said after it
        if m.get("bot_id") and me and m.get("user") != me:
            continue  # another app's message: neither the asker's words nor Lore's
        if m.get("bot_id"):
            sections = [b["text"]["text"] for b in m.get("blocks") or [] if b.get("type") == "section"]
            turns.append({"role": "assistant", "content": from_mrkdwn("\n".join(sections) or m.get("text", ""))})
        else:
            turns.append({"role": "user", "content": mention_question(m.get("text") or "")})
    return [t for t in turns if t["content"]]


def post_in_thread(bot: SlackBot, channel: str, thread_ts: str, message: dict, context: dict) -> None:
    """chat.postMessage in `thread_ts` ("" for a top-level message)."""
    try:
        post_message(bot.client, channel, thread_ts or None, message)
    except SlackError as exc:
        log.error("could not post in the thread: %s", exc, extra=context)
