"""Slack's side of feedback: each answer Lore posts is recorded, and each helpful / not-helpful click becomes
the clicking user's vote on it (backend/feedback.py stores both).

Storing is never worth an answer or a thank-you: a failure is logged and the reply goes out anyway. The voter
is the user in the click's signed body, never anything in the button's value (which only names the answer).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from backend.answers import Answer
from bot import blocks, messages
from bot.slack import SlackError, open_view

if TYPE_CHECKING:
    from bot.runtime import SlackBot

log = logging.getLogger(__name__)

SURFACE = "slack"


def button_value(answer_id: str) -> str:
    return json.dumps({"answer": answer_id})


def answer_id_of(value: str | None) -> str | None:
    """The answer a button names; None for a value Lore did not write."""
    try:
        answer_id = json.loads(value or "{}").get("answer")
    except (ValueError, AttributeError):
        return None
    return answer_id if isinstance(answer_id, str) else None


def record_answer(bot: SlackBot, answer_id: str, question: str, result: Answer, user: str, channel: str,
                  context: dict) -> None:
    try:
        bot.services.feedback.record_answer(answer_id, question, result, user=user, channel=channel,
                                            surface=SURFACE)
    except Exception as exc:  # noqa: BLE001 - a feedback store that is down must not cost the asker the answer
        log.warning("could not record the answer for feedback: %s", exc, extra=context)


def thanks() -> dict:
    """A new ephemeral line under the answer; the answer itself stays as it was."""
    return {**blocks.text_message(messages.FEEDBACK_THANKS), "replace_original": False}


def record_vote(bot: SlackBot, vote: str, body: dict, answer_id: str | None, context: dict) -> None:
    """Store the click (run by the pool, after the ack), then thank the user whatever happened to the vote."""
    from bot.ask import post

    user = (body.get("user") or {}).get("id") or ""
    channel = (body.get("channel") or {}).get("id") or ""
    try:
        if not answer_id or not bot.services.feedback.record_vote(answer_id, user, vote, channel=channel):
            log.warning("feedback on an answer Lore never recorded was not stored", extra=context)
    except Exception as exc:  # noqa: BLE001 - the click was received: the user is thanked even if storing failed
        log.warning("could not store the feedback: %s", exc, extra=context)
    if body.get("response_url"):
        post(bot, body["response_url"], thanks(), context)


def comment_metadata(answer_id: str, vote: str) -> str:
    return json.dumps({"answer": answer_id, "vote": vote})


def open_comment(bot: SlackBot, trigger_id: str, answer_id: str | None, vote: str, context: dict) -> None:
    """After a "not helpful" click: the optional comment modal (first in the click pool: the trigger expires)."""
    if not answer_id or not trigger_id:
        return
    try:
        open_view(bot.client, trigger_id, blocks.comment_modal(comment_metadata(answer_id, vote)))
    except SlackError as exc:  # the vote is stored anyway; only the chance to explain it is lost
        log.warning("could not open the comment box: %s", exc, extra=context)


def record_comment(bot: SlackBot, body: dict, view: dict, context: dict) -> None:
    """The submitted modal: the comment joins the user's vote on that answer. The voter is the signed body's
    user; the answer and vote come from the view's private_metadata, which Slack keeps and returns as Lore
    wrote it, and an answer Lore never recorded is refused by the store anyway."""
    user = (body.get("user") or {}).get("id") or ""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        answer_id, vote = meta.get("answer"), meta.get("vote")
    except (ValueError, AttributeError):
        answer_id = vote = None
    values = ((view.get("state") or {}).get("values") or {}).get(blocks.COMMENT_BLOCK) or {}
    comment = (values.get(blocks.COMMENT_INPUT) or {}).get("value") or ""
    if not isinstance(answer_id, str) or vote not in ("helpful", "not_helpful") or not comment.strip():
        return
    try:
        if not bot.services.feedback.record_vote(answer_id, user, vote, comment=comment):
            log.warning("a comment on an answer Lore never recorded was not stored", extra=context)
    except Exception as exc:  # noqa: BLE001 - the modal has closed; nothing to tell the user in Slack
        log.warning("could not store the comment: %s", exc, extra=context)
