"""Plays Slack's side of a delivery to the bot: form-encoded slash commands and interactivity payloads,
signed the way Slack signs them (shared/REFERENCE.md, "Request signing"), written from the spec rather
than with slack_sdk so the tests check bolt's verification against an independent signer.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from tests.standins.slack_app import TEAM_ID

_triggers = itertools.count(1)


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(secret: str, body: str, timestamp: float | None = None, content_type: str =
                   "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time() if timestamp is None else timestamp))
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, body),
            "Content-Type": content_type}


def command_body(text: str, user_id: str, response_url: str, command: str = "/ask",
                 trigger_id: str | None = None, channel_id: str = "C0GENERAL") -> str:
    """A slash command as Slack posts it (its fields: shared/REFERENCE.md)."""
    return urlencode({
        "token": "deprecated-verification-token", "team_id": TEAM_ID, "team_domain": "lore-standin",
        "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
        "command": command, "text": text, "api_app_id": "A0LORE", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id or f"{next(_triggers)}.{int(time.time())}.abc",
    })


def action_body(action_id: str, value: str, user_id: str, response_url: str) -> str:
    """A block_actions click (interactivity) as Slack posts it: `payload=<json>`."""
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "lore-standin"},
        "user": {"id": user_id, "team_id": TEAM_ID}, "api_app_id": "A0LORE", "token": "deprecated",
        "container": {"type": "message", "is_ephemeral": True}, "trigger_id": f"{next(_triggers)}.click",
        "channel": {"id": "C0GENERAL", "name": "general"}, "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "lore_feedback", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(view: dict, user_id: str, values: dict) -> str:
    """A modal's submission (interactivity) as Slack posts it: the view Lore opened, with what was typed."""
    payload = {
        "type": "view_submission", "team": {"id": TEAM_ID, "domain": "lore-standin"},
        "user": {"id": user_id, "team_id": TEAM_ID}, "api_app_id": "A0LORE", "token": "deprecated",
        "trigger_id": f"{next(_triggers)}.submit",
        "view": {**view, "id": view.get("id", "V0SUBMIT"), "team_id": TEAM_ID, "state": {"values": values}},
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict, event_id: str | None = None) -> str:
    """An Events API delivery (JSON)."""
    return json.dumps({"token": "deprecated", "team_id": TEAM_ID, "api_app_id": "A0LORE", "event": event,
                       "type": "event_callback", "event_id": event_id or f"Ev{next(_triggers):08d}",
                       "event_time": int(time.time())})


@dataclass
class Delivery:
    """Posts signed bodies to the bot at `url` (its /slack/events)."""

    url: str
    secret: str
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, body: str, *, timestamp: float | None = None, headers: dict[str, str] | None = None,
             content_type: str = "application/x-www-form-urlencoded") -> requests.Response:
        all_headers = signed_headers(self.secret, body, timestamp, content_type)
        all_headers.update(headers or {})
        return self.session.post(self.url, data=body.encode(), headers=all_headers, timeout=30)
