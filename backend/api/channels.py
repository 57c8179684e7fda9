"""Admin endpoints for Slack channels as a source, beside /api/admin/spaces and in its style:

    GET /api/admin/channels             the configured channels, each with its sync state
    PUT /api/admin/channels             a JSON list (or {"channels": [...]}): each "C0123" or
                                        {"channel", "public"?, "enabled"?, "name"?}; the set becomes exactly this
    GET /api/admin/channels/available   the live channels Lore's bot can see (conversations.list), for a picker

A channel left out of a PUT is purged (its documents deleted, its members forgotten) and one marked
`enabled: false` hidden from every reader, before the configuration changes: neither waits for a sync. `public`
applies to public channels only: it lets every reader find the channel's threads, members or not.
The admin token and error handling are the admin blueprint's (backend/api/admin.py).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from backend.api import admin
from backend.channel_config import ChannelConfig, ChannelStore, hide_channel, purge_channel
from backend.errors import BadRequest, ConfigError, LoreError
from backend.settings import Settings
from backend.visibility import hidden_count

log = logging.getLogger(__name__)

bp = Blueprint("lore_admin_channels", __name__, url_prefix="/api/admin/channels")
bp.before_request(admin._require_admin_token)
bp.register_error_handler(LoreError, admin._lore_error)
MAX_CHANNELS = admin.MAX_SPACES


def _store() -> ChannelStore:
    spaces = admin._admin().spaces()
    return ChannelStore(spaces.es, admin._admin().settings.es)


@bp.get("")
def list_channels() -> Response:
    store = _store()
    settings = admin._admin().settings
    rows = store.status()
    for row in rows:
        row.pop("unrestricted_only", None)
        row["channel"] = row["key"].removeprefix("slack:")
        row["hidden_documents"] = hidden_count(store.es, settings, row["key"], "slack")
    return jsonify({"channels": rows})


@bp.put("")
def put_channels() -> Response:
    body = request.get_json(silent=True)
    items = body.get("channels") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise BadRequest('Send the channels as a JSON list, or as {"channels": [...]}: each a channel id or '
                         '{"channel", "public", "enabled", "name"}.')
    if len(items) > MAX_CHANNELS:
        raise BadRequest(f"{len(items)} channels is more than the {MAX_CHANNELS} this endpoint accepts at once.")
    channels = [ChannelConfig.parse(item) for item in items]
    return jsonify(apply_channels(_store(), admin._admin().settings, channels))


@bp.get("/available")
def available() -> Response:
    settings = admin._admin().settings
    return jsonify({"channels": available_channels(settings, _store())})


# ---- shared with the admin pages (backend/web): the page calls these, never this HTTP API -----------------

def apply_channels(store: ChannelStore, settings: Settings, channels: list[ChannelConfig]) -> dict:
    """Make `channels` exactly the indexed set: purge those left out and hide the disabled ones first."""
    keys = [c.key for c in channels]
    duplicates = sorted({c.channel for c in channels if keys.count(c.key) > 1})
    if duplicates:
        raise BadRequest(f"Channel(s) listed twice: {', '.join(duplicates)}.")
    before = [c.key for c in store.list_spaces()]
    # out of sight first, then out of the configuration (as PUT /api/admin/spaces does)
    purged = {k.removeprefix("slack:"): purge_channel(store.es, settings, k) for k in before if k not in keys}
    hidden = {c.channel: len(hide_channel(store.es, settings, c.key)) for c in channels if not c.enabled}
    saved = store.replace_spaces(channels)
    log.info("indexed channels replaced", extra={"channels": keys, "purged": purged, "hidden": hidden})
    return {"channels": [c.to_dict() for c in saved], "purged_chunks": purged, "hidden_documents": hidden}


def available_channels(settings: Settings, store: ChannelStore, client=None) -> list[dict]:
    """The live channels Lore's bot can see (conversations.list), each marked `configured` when indexed.
    ConfigError without a bot token; the Slack client's errors (ServiceUnavailable, SourceAuthError...) pass."""
    from backend.slack.client import SlackChannels

    if not settings.slack.bot_token:
        raise ConfigError("No Slack bot token is configured: set LORE_SLACK_BOT_TOKEN to list channels.")
    client = client or SlackChannels(settings.slack, settings.slack_source)
    configured = {c.channel for c in store.list_spaces()}
    return [{"channel": c.get("id"), "name": c.get("name"), "is_private": bool(c.get("is_private")),
             "is_member": bool(c.get("is_member")), "num_members": c.get("num_members"),
             "configured": c.get("id") in configured}
            for c in client.channels()]
