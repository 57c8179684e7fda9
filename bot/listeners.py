"""What Lore does with each kind of Slack request: `/ask` and the feedback buttons.

Listeners only acknowledge (within Slack's 3 seconds, with no network call) and hand slow work to the
bounded pool; the App runs them before answering the HTTP request (process_before_response), so what they
ack is what Slack shows at once.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App

from bot import blocks, messages
from bot.ask import AskRequest, answer
from bot.runtime import SlackBot

log = logging.getLogger(__name__)

FEEDBACK_VOTES = dict(zip(blocks.FEEDBACK_ACTIONS, ("helpful", "not_helpful"), strict=True))


def register(app: App, bot: SlackBot) -> None:
    @app.command(messages.COMMAND)
    def ask(ack: Ack, command: dict) -> None:
        question = " ".join((command.get("text") or "").split())
        if not question:
            ack(**blocks.text_message(messages.usage()))
            return
        req = AskRequest(question=question, user_id=command.get("user_id", ""),
                         response_url=command.get("response_url", ""), channel_id=command.get("channel_id", ""),
                         team_id=command.get("team_id", ""))
        ahead = bot.pool.ahead
        if not bot.pool.submit(answer, bot, req):
            log.warning("answer queue full: a question was turned away",
                        extra={"slack_user": req.user_id, "capacity": bot.pool.capacity})
            ack(**blocks.text_message(messages.busy(bot.pool.waiting)))
            return
        ack(**blocks.text_message(messages.searching(ahead)))

    for action_id, vote in FEEDBACK_VOTES.items():
        app.action(action_id)(_feedback_listener(vote))


def _feedback_listener(vote: str):
    def feedback(ack: Ack, body: dict, action: dict) -> None:
        ack()
        try:
            answer_id = json.loads(action.get("value") or "{}").get("answer")
        except (ValueError, AttributeError):
            answer_id = None
        log.info("Slack feedback", extra={"answer_id": answer_id, "vote": vote,
                                          "slack_user": (body.get("user") or {}).get("id")})

    return feedback
