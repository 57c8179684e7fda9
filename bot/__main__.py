"""`python -m bot`: run Lore's Slack bot. Settings from LORE_* and .env (see .env.example, "Slack").

With LORE_SLACK_APP_TOKEN set it connects to Slack in Socket Mode (no public URL needed); otherwise it
serves POST /slack/events and GET /healthz on LORE_SLACK_HOST:LORE_SLACK_PORT, for Slack to reach through
your HTTPS reverse proxy. Ctrl-C (or SIGTERM) stops taking questions and lets the accepted ones finish.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from backend.errors import LoreError
from backend.settings import Settings
from bot.runtime import SlackBot
from bot.slack import SlackError, auth_test

log = logging.getLogger("bot")

MAX_CONNECT_WAIT = 60.0  # seconds between two Socket Mode connection attempts while Slack is unreachable


def check_token(bot: SlackBot) -> None:
    """Say in the log whether the bot token works; in the background, so start-up never waits on Slack."""

    def check() -> None:
        try:
            who = auth_test(bot.client)
        except SlackError as exc:
            log.warning("the bot token could not be checked (%s); answers are still served", exc)
            return
        log.info("connected to Slack workspace %s as %s", who.get("team"), who.get("user"))

    if bot.settings.slack.bot_token:
        threading.Thread(target=check, name="lore-slack-auth-test", daemon=True).start()


def serve_http(settings: Settings) -> None:
    from werkzeug.serving import make_server

    from bot.app import EVENTS_PATH, create_app

    app = create_app(settings)
    bot: SlackBot = app.extensions["lore_slack"]
    server = make_server(settings.slack.host, settings.slack.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    check_token(bot)
    log.info("Lore's Slack bot listens on http://%s:%s%s", settings.slack.host, server.server_port, EVENTS_PATH)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        log.info("stopping: finishing %s accepted question(s)", bot.pool.running + bot.pool.waiting)
        bot.close(wait=True)


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_bot

    bot = build_bot(settings, socket_mode=True)
    handler = SocketModeHandler(bot.bolt, settings.slack.app_token)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    check_token(bot)
    try:
        wait = 1.0
        while not stop.is_set():
            try:
                handler.connect()  # apps.connections.open at LORE_SLACK_API_URL; reconnects itself after drops
                break
            except Exception as exc:  # noqa: BLE001 - whatever it is, Slack is not there yet: try again
                log.warning("Socket Mode could not connect (%s); trying again in %.0f s", type(exc).__name__, wait)
                stop.wait(wait)
                wait = min(wait * 2, MAX_CONNECT_WAIT)
        if not stop.is_set():
            log.info("Lore's Slack bot is connected in Socket Mode")
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handler.close()
        bot.close(wait=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", action="store_true", help="serve HTTP even when LORE_SLACK_APP_TOKEN is set")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # bolt logs the whole body of a request that fails the signature check at INFO: message text stays
        # out of logs above DEBUG (a stale but genuine /ask carries a user's question)
        logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    try:
        if settings.slack.app_token and not args.http:
            serve_socket_mode(settings)
        else:
            serve_http(settings)
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
