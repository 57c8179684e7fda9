"""What Lore does with each kind of Slack request: `/ask`, @-mentions, direct messages, feedback buttons.

Listeners only acknowledge (within Slack's 3 seconds, with no network call) and hand slow work to a
bounded pool (answers in one, feedback clicks in another, so a vote never waits for the model); the App
runs them before answering the HTTP request (process_before_response), so what they ack is what Slack
shows at once.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from bot import blocks, messages
from bot.ask import AskRequest, MessageRequest, answer, answer_message, post_in_thread
from bot.feedback import answer_id_of, open_comment, record_comment, record_vote
from bot.runtime import SlackBot
from bot.text import mention_question, plain_text

log = logging.getLogger(__name__)

FEEDBACK_VOTES = dict(zip(blocks.FEEDBACK_ACTIONS, ("helpful", "not_helpful"), strict=True))


def register(app: App, bot: SlackBot) -> None:
    @app.command(messages.COMMAND)
    def ask(ack: Ack, command: dict) -> None:
        question = plain_text(command.get("text") or "")
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

    def take(req: MessageRequest) -> None:
        if not bot.pool.submit(answer_message, bot, req):
            log.warning("answer queue full: a message was turned away",
                        extra={"slack_user": req.user_id, "capacity": bot.pool.capacity})
            # rare (overload): said at once, at the cost of a slower ack of this one event
            post_in_thread(bot, req.channel_id, req.thread_ts, blocks.text_message(messages.busy(bot.pool.waiting)),
                           {"slack_user": req.user_id})

    @app.event("app_mention")
    def mention(event: dict) -> None:  # acked by bolt when this returns (events need no ack payload)
        take(MessageRequest(question=mention_question(event.get("text") or ""), user_id=event.get("user", ""),
                            channel_id=event.get("channel", ""), ts=event.get("ts", ""),
                            thread_ts=event.get("thread_ts") or event.get("ts", "")))

    @app.event("message")
    def direct_message(event: dict) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # Lore's own replies (never answered: no loops), edits, joins, other channels
        take(MessageRequest(question=mention_question(event.get("text") or ""), user_id=event.get("user", ""),
                            channel_id=event.get("channel", ""), ts=event.get("ts", ""),
                            thread_ts=event.get("thread_ts") or "", private=True))

    for action_id, vote in FEEDBACK_VOTES.items():
        app.action(action_id)(_feedback_listener(bot, vote))

    @app.view(blocks.COMMENT_VIEW)
    def comment(ack: Ack, body: dict, view: dict) -> None:
        ack()  # closes the modal at once; storing the comment happens after
        context = {"slack_user": (body.get("user") or {}).get("id"), "comment": True}
        if not bot.clicks.submit(record_comment, bot, body, view, context):
            log.warning("feedback queue full: a comment was not stored", extra=context)


def _feedback_listener(bot: SlackBot, vote: str):
    def feedback(ack: Ack, body: dict, action: dict) -> None:
        ack()
        answer_id = answer_id_of(action.get("value"))
        # the voter is who Slack says clicked (the signed body), never anything the button carries
        context = {"answer_id": answer_id, "vote": vote, "slack_user": (body.get("user") or {}).get("id")}
        log.info("Slack feedback", extra=context)
        if vote == "not_helpful":  # ask what was wrong (optional), before the trigger expires
            bot.clicks.submit(open_comment, bot, body.get("trigger_id") or "", answer_id, vote, context)
        if not bot.clicks.submit(record_vote, bot, vote, body, answer_id, context):
            log.warning("feedback queue full: a click was not stored", extra=context)

    return feedback
