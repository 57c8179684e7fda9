"""manifests/slack/manifest.yaml against the real app: every URL it gives Slack is a route of bot.app, and
every command, button and event it makes Slack send is handled by a listener (bolt answers 404 otherwise)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from backend.settings import Settings, SlackSettings
from bot import messages
from bot.app import create_app
from bot.blocks import FEEDBACK_ACTIONS
from tests.standins.slack_delivery import action_body, command_body, event_body, signed_headers

MANIFEST = Path(__file__).resolve().parents[2] / "manifests" / "slack" / "manifest.yaml"
SECRET = "manifest-test-secret"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture(scope="module")
def app():
    # nothing here reaches Slack or the backend: usage help and feedback acks need neither
    settings = Settings(slack=SlackSettings(signing_secret=SECRET, bot_token="xoxb-unused",
                                            api_url="http://127.0.0.1:9/api/", max_retries=0))
    app = create_app(settings)
    yield app
    app.extensions["lore_slack"].close()


def post(app, body: str, content_type: str = "application/x-www-form-urlencoded", path: str = "/slack/events"):
    return app.test_client().post(path, data=body, headers=signed_headers(SECRET, body, content_type=content_type))


def urls(manifest: dict) -> list[str]:
    found = [c["url"] for c in manifest["features"]["slash_commands"]]
    settings = manifest["settings"]
    found.append(settings["interactivity"]["request_url"])
    if "event_subscriptions" in settings:
        found.append(settings["event_subscriptions"]["request_url"])
    return found


def test_every_url_in_the_manifest_is_a_post_route_of_the_app(manifest, app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    for url in urls(manifest):
        parts = urlsplit(url)
        assert parts.scheme == "https", f"Slack only calls https URLs: {url}"
        assert parts.path in routes, f"{url} is not served by bot.app (POST routes: {sorted(routes)})"


def test_every_command_in_the_manifest_is_answered_and_ask_is_there(manifest, app):
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert messages.COMMAND in commands
    for command in commands:
        resp = post(app, command_body("", "U0ALICE", "https://hooks.example/x", command=command),
                    path=urlsplit(manifest["features"]["slash_commands"][0]["url"]).path)
        assert resp.status_code == 200, f"{command} has no listener"
        assert resp.get_json()["text"] == messages.usage()


def test_the_feedback_buttons_need_interactivity_and_are_handled(manifest, app):
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    for action_id in FEEDBACK_ACTIONS:
        resp = post(app, action_body(action_id, '{"answer": "abc"}', "U0ALICE", "https://hooks.example/x"))
        assert resp.status_code == 200, f"no listener for the {action_id} button"


def test_every_subscribed_event_is_handled(manifest, app):
    events = manifest["settings"].get("event_subscriptions", {}).get("bot_events", [])
    for event in events:
        # "message.im" is a message event in a DM; a bare mention makes the bot post usage help only (to a
        # closed port here): no search is run
        kind, _, where = event.partition(".")
        body = event_body({"type": kind, "user": "U0ALICE", "text": "<@U0LOREBOT>", "channel": "C0GENERAL",
                           "ts": "1.000001", "event_ts": "1.000001", "channel_type": where or "channel"})
        resp = post(app, body, content_type="application/json")
        assert resp.status_code == 200, f"the manifest subscribes to {event} but no listener handles it"


def test_the_manifest_asks_for_what_the_app_uses_and_says_how_it_connects(manifest):
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "users:read.email", "app_mentions:read",
            "channels:history", "groups:history", "im:history"} <= scopes
    assert isinstance(manifest["settings"]["socket_mode_enabled"], bool)
