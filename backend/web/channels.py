"""The Slack channel half of the spaces page: the live channel list Lore's bot can see, next to the configured
channels, and what a Save makes of the ticked boxes. It reuses the admin API's functions (backend/api/channels.py:
`available_channels`, `apply_channels`) in-process; the page never calls Lore's own HTTP API.

"Readable by everyone" (`public`) lets every reader find a *public* channel's threads, members or not; a private
channel is members-only whatever is ticked, so a Save that asks for it is refused and changes nothing.
"""

from __future__ import annotations

from backend.channel_config import ChannelConfig
from backend.errors import BadRequest, LoreError

NOT_CONFIGURED = ("Slack is not configured on this server (no bot token: LORE_SLACK_BOT_TOKEN), so Slack channels "
                  "cannot be listed or synced. Set it, with the scopes in manifests/slack/manifest.yaml, and restart "
                  "the backend.")


def channel_choices(ctx) -> tuple[list[dict], str | None]:
    """Rows for the channels form (the live list, plus configured channels it lacks) and a message for the admin."""
    from backend.api.channels import available_channels

    configured = {c.channel: c for c in ctx.channels().list_spaces()}
    live: dict[str, dict] = {}
    error = None
    client = ctx.slack()
    if client is None:
        error = NOT_CONFIGURED
    else:
        try:
            live = {c["channel"]: c for c in available_channels(ctx.settings, ctx.channels(), client)}
        except LoreError as exc:
            error = f"The list of Slack channels could not be read: {exc.message}"
    rows = []
    for channel_id in sorted(set(live) | set(configured), key=lambda c: ((live.get(c) or {}).get("name") or
                                                                     (configured[c].name if c in configured else c))):
        found, conf = live.get(channel_id), configured.get(channel_id)
        rows.append({"channel": channel_id, "name": (found or {}).get("name") or (conf.name if conf else ""),
                     "private": bool(found and found["is_private"]), "member": bool(found and found["is_member"]),
                     "members": (found or {}).get("num_members"), "in_slack": found is not None,
                     "indexed": conf is not None, "public": bool(conf and conf.public),
                     "enabled": conf.enabled if conf else True})
    return rows, error


def channels_from_form(ctx, chosen: list[str], public: list[str], names: dict[str, str]) -> list[ChannelConfig]:
    """The channels to index after a Save: the ticked ids, "readable by everyone" where ticked. BadRequest (and
    nothing saved) when a private channel is ticked as readable by everyone, or when that cannot be checked."""
    from backend.api.channels import available_channels

    configured = {c.channel: c for c in ctx.channels().list_spaces()}
    out = []
    for channel_id in dict.fromkeys(chosen):
        old = configured.get(channel_id)
        channel = ChannelConfig.parse({"channel": channel_id, "public": channel_id in public,
                                       "enabled": old.enabled if old else True,
                                       "name": (old.name if old and old.name else names.get(channel_id, ""))[:200]})
        out.append(channel)
    wants_public = [c for c in out if c.public and not (configured.get(c.channel) and configured[c.channel].public)]
    if wants_public:  # Slack says which channels are private (never the form): asked only when something widens
        client = ctx.slack()
        if client is None:
            raise BadRequest(NOT_CONFIGURED)
        try:
            live = {c["channel"]: c for c in available_channels(ctx.settings, ctx.channels(), client)}
        except LoreError as exc:
            raise BadRequest(f"Nothing was saved: Slack could not tell whether the channels are public "
                             f"({exc.message}).") from None
        private = [f"#{(live.get(c.channel) or {}).get('name') or c.channel}" for c in wants_public
                   if c.channel not in live or live[c.channel]["is_private"]]
        if private:
            raise BadRequest(f"Nothing was saved: {', '.join(private)} "
                             f"{'is a private channel' if len(private) == 1 else 'are private channels'} (or not in "
                             "Slack's list), so only members may read it. Untick \"Readable by everyone\" for it.")
    return out
