"""The Slack bot's app factory: a bolt `App` built from Settings, mounted in a small Flask app.

    create_app()          Flask: POST /slack/events (commands, events, interactivity), GET /healthz
    build_bot(settings)   the bolt App and what its listeners share (also what Socket Mode runs)

No call to Slack happens here: the app starts, and verifies signatures, while Slack is unreachable
(bolt's start-up `auth.test` is replaced by an `authorize` that reads the token from Settings).
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from backend.api.services import Services
from backend.errors import ConfigError
from backend.settings import Settings
from bot import guard, listeners
from bot.identity import SlackIdentities
from bot.pool import AnswerPool
from bot.runtime import SlackBot
from bot.slack import web_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def build_bot(settings: Settings, services: Services | dict | None = None, *, socket_mode: bool = False) -> SlackBot:
    """The bolt App with Lore's listeners and guards. `services` as in backend.api.create_app."""
    slack = settings.slack
    if not socket_mode and not slack.signing_secret:
        raise ConfigError("LORE_SLACK_SIGNING_SECRET is empty: copy the Signing Secret from your Slack app's "
                          "Basic Information page (or set LORE_SLACK_APP_TOKEN to use Socket Mode).")
    if not slack.bot_token:
        log.warning("LORE_SLACK_BOT_TOKEN is empty: Lore cannot read askers' emails, so every answer uses "
                    "public pages only")
    if not isinstance(services, Services):
        services = Services(settings, **(services or {}))
    client = web_client(slack)
    bot = SlackBot(
        settings=settings, services=services, client=client,
        identities=SlackIdentities(client, services.identity, slack.email_cache_seconds,
                                   audience_max=slack.channel_audience_max,
                                   bot_user=lambda: bot.bot_user_id()),  # bound below; called per reply
        pool=AnswerPool(slack.workers, slack.queue_size),
        signatures=guard.SeenKeys(guard.REPLAY_WINDOW_SECONDS),
        deliveries=guard.SeenKeys(guard.RETRY_WINDOW_SECONDS),
    )

    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        # one workspace, one bot token, known from Settings: nothing to look up per request
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                               bot_token=slack.bot_token or None)

    bot.bolt = App(
        name="lore",
        signing_secret=slack.signing_secret or "socket-mode-unused",  # Socket Mode requests are not signed
        client=WebClient(token=None, base_url=client.base_url, timeout=client.timeout,
                         retry_handlers=client.retry_handlers),
        authorize=authorize,
        before_authorize=guard.replay_guard(bot.signatures),
        process_before_response=True,  # listeners only ack; the slow work goes to bot.pool (bot.listeners)
        raise_error_for_unhandled_request=False,
    )
    bot.bolt.use(guard.retry_dedup(bot.deliveries))
    listeners.register(bot.bolt, bot)
    return bot


def create_app(settings: Settings | None = None, *, services: Services | dict | None = None) -> Flask:
    """`settings` default to the environment (this is an entry point); `services` as in build_bot."""
    settings = settings or Settings.from_env()
    bot = build_bot(settings, services)
    handler = SlackRequestHandler(bot.bolt)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 1 << 20  # 1 MiB: Slack's payloads are a few kB
    app.extensions["lore_slack"] = bot

    @app.post(EVENTS_PATH)
    def slack_events():
        return handler.handle(request)

    @app.get(HEALTH_PATH)
    def healthz():
        def figures(pool) -> dict:
            return {"running": pool.running, "waiting": pool.waiting, "capacity": pool.capacity,
                    "accepted": pool.submitted, "refused": pool.refused}

        # answers wait on the model; clicks (votes, comments) have their own small pool and must stay empty
        return jsonify({"status": "ok", "answers": figures(bot.pool), "clicks": figures(bot.clicks)})

    return app
