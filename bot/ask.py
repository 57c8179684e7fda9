"""The slow half of `/ask` and of @-mentions, run by the bounded pool after the acknowledgement: who asks,
the answer pipeline, Block Kit, and the post (the command's `response_url`, or the mention's thread).

Whatever fails (Slack, Confluence, Elasticsearch, a bug) the asker gets a message: never silence.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.documents import PUBLIC
from backend.errors import LoreError
from bot import blocks, messages
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
    answer_id = uuid.uuid4().hex[:16]  # joins the feedback clicks to this answer in the logs
    waited_ms = round((time.monotonic() - req.received) * 1000)
    context = {"answer_id": answer_id, "slack_user": req.user_id, "slack_channel": req.channel_id,
               "queue_ms": waited_ms}
    try:
        asker = bot.identities.asker(req.user_id)
        result = bot.services.answerer.ask(req.question, asker.identities)
        message = blocks.render_answer(result, req.question, asker.rule, json.dumps({"answer": answer_id}))
        log.info("answered on Slack", extra={**context, "status": result.status, "sources": len(result.sources),
                                             "public_only": asker.public_only, **result.timings})
    except LoreError as exc:
        log.warning("could not answer on Slack: %s", exc, extra={**context, "code": exc.code})
        message = blocks.text_message(messages.failed(exc.code))
    except Exception:  # a bug must still reach the asker as a message, not as silence
        log.exception("could not answer on Slack", extra=context)
        message = blocks.text_message(messages.failed("internal_error"))
    post(bot, req.response_url, message, context)


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
class MentionRequest:
    question: str  # empty: the mention had no question
    user_id: str
    channel_id: str
    ts: str  # the mention's own message
    thread_ts: str  # the thread to answer in: the mention's own thread, or a new one under the mention
    received: float = field(default_factory=time.monotonic)

    @property
    def in_thread(self) -> bool:
        return self.thread_ts != self.ts


def answer_mention(bot: SlackBot, req: MentionRequest) -> None:
    """Answer an @-mention in its thread. The reply is visible to the whole channel, so it uses public pages
    only, whoever asked (a member-aware rule needs conversations.members: a later step)."""
    answer_id = uuid.uuid4().hex[:16]
    context = {"answer_id": answer_id, "slack_user": req.user_id, "slack_channel": req.channel_id,
               "queue_ms": round((time.monotonic() - req.received) * 1000)}
    if not req.question:
        message = blocks.text_message(messages.mention_usage())
    else:
        try:
            history = thread_history(bot, req) if req.in_thread else []
            result = bot.services.answerer.ask(req.question, [PUBLIC], history)
            message = blocks.render_answer(result, req.question, messages.rule_channel(),
                                           json.dumps({"answer": answer_id}))
            log.info("answered a Slack mention", extra={**context, "status": result.status,
                                                        "sources": len(result.sources), **result.timings})
        except LoreError as exc:
            log.warning("could not answer a Slack mention: %s", exc, extra={**context, "code": exc.code})
            message = blocks.text_message(messages.failed(exc.code))
        except Exception:  # a bug must still reach the channel as a message, not as silence
            log.exception("could not answer a Slack mention", extra=context)
            message = blocks.text_message(messages.failed("internal_error"))
    post_in_thread(bot, req.channel_id, req.thread_ts, message, context)


def thread_history(bot: SlackBot, req: MentionRequest) -> list[dict]:
    """The thread's earlier turns, read from Slack itself (never from what a request claims): Lore's messages
    are the assistant's turns, everyone else's the user's. Slack unreachable: answered without them."""
    try:
        found = thread_messages(bot.client, req.channel_id, req.thread_ts, THREAD_MESSAGES)
    except SlackError as exc:
        log.warning("could not read the thread; answering the mention on its own: %s", exc)
        return []
    turns = []
    for m in sorted(found, key=lambda m: float(m.get("ts") or 0)):
        if float(m.get("ts") or 0) >= float(req.ts or 0):
            continue  # the mention itself, and anything said after it
        if m.get("bot_id"):
            sections = [b["text"]["text"] for b in m.get("blocks") or [] if b.get("type") == "section"]
            turns.append({"role": "assistant", "content": from_mrkdwn("\n".join(sections) or m.get("text", ""))})
        else:
            turns.append({"role": "user", "content": mention_question(m.get("text") or "")})
    return [t for t in turns if t["content"]]


def post_in_thread(bot: SlackBot, channel: str, thread_ts: str, message: dict, context: dict) -> None:
    try:
        post_message(bot.client, channel, thread_ts, message)
    except SlackError as exc:
        log.error("could not post in the thread: %s", exc, extra=context)
