"""`python -m connector channels ...` and the channel half of `sync` and `status` (connector/__main__.py calls these).

    python -m connector channels add C0123 [--public] [--name NAME] [--disabled]
    python -m connector channels list [--live]          python -m connector channels remove C0123
    python -m connector sync --channel C0123 [--full]   (`sync --all` syncs the enabled channels too)

A subcommand of its own rather than `spaces add slack:C0123`: channels have their own id rules and a `--public`
flag, and the admin API mirrors it (`/api/admin/channels`). Under the hood a channel is configured as the space
key `slack:C0123`, so the runner, its lock and its status are the spaces' own.
"""

from __future__ import annotations

import argparse
import json
import sys

from backend.channel_config import ChannelConfig, ChannelStore, hide_channel, purge_channel
from backend.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    channels = sub.add_parser("channels", help="choose which Slack channels are indexed")
    csub = channels.add_subparsers(dest="action", required=True)
    add = csub.add_parser("add", help="index this channel's threads from the next sync on")
    add.add_argument("channel", help="the channel id (C0123...: in Slack, the channel's details show it)")
    add.add_argument("--public", action="store_true",
                     help="a public channel whose threads every reader may find, not only its members")
    add.add_argument("--name", default="", help="a label for people")
    add.add_argument("--disabled", action="store_true", help="configure it but leave it out of `sync --all`")
    ls = csub.add_parser("list", help="the configured channels")
    ls.add_argument("--live", action="store_true", help="list the channels Lore's bot can see in Slack instead")
    remove = csub.add_parser("remove", help="stop indexing this channel and delete its documents")
    remove.add_argument("channel")


def _store(settings: Settings) -> ChannelStore:
    from backend.es import connect

    return ChannelStore(connect(settings.es), settings.es)


def channels_command(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if args.action == "list" and args.live:
        from backend.slack.client import SlackChannels

        configured = {c.channel for c in store.list_spaces()}
        for c in SlackChannels(settings.slack, settings.slack_source).channels():
            flags = ", ".join(f for f, on in (("private", c.get("is_private")),
                                              ("bot not in it", not c.get("is_member")),
                                              ("configured", c.get("id") in configured)) if on)
            print(f"{c.get('id')}\t#{c.get('name')}\t{flags}")
        return EXIT_OK
    if args.action == "list":
        channels = store.list_spaces()
        if not channels:
            print("No channels are configured: add one with `python -m connector channels add C0123`.")
        for c in channels:
            flags = ", ".join(f for f, on in (("enabled", c.enabled), ("disabled", not c.enabled),
                                              ("public: every reader", c.public)) if on)
            print(f"{c.channel}\t{flags}\t{c.name}")
        return EXIT_OK
    if args.action == "add":
        channel = ChannelConfig.parse({"channel": args.channel, "public": args.public, "name": args.name,
                                       "enabled": not args.disabled})
        if settings.slack.bot_token:  # catch a wrong id, or a channel the bot is not in, now rather than at a sync
            from backend.slack.client import SlackChannels

            info = SlackChannels(settings.slack, settings.slack_source).channel(channel.channel)
            if channel.public and info.get("is_private"):
                print(f"error: #{info.get('name')} is a private channel: only its members may read it, so it "
                      "cannot be --public.", file=sys.stderr)
                return EXIT_FAILED
            channel.name = channel.name or info.get("name", "")
            if not info.get("is_member"):  # Slack lets a bot read only the channels it was invited to
                print(f"warning: Lore's bot is not in #{info.get('name')}: invite it (`/invite @Lore` in the channel) "
                      "before the next sync.", file=sys.stderr)
        if not channel.enabled:
            hide_channel(store.es, settings, channel.key)
        store.add_space(channel)
        print(f"Channel {channel.channel} will be indexed ({'every reader' if channel.public else 'its members only'}"
              f"). Run `python -m connector sync --channel {channel.channel}` to index it now.")
        return EXIT_OK
    channel = ChannelConfig.parse(args.channel)
    deleted = purge_channel(store.es, settings, channel.key)
    if not store.remove_space(channel.key) and not deleted:
        print(f"error: channel {channel.channel} is not configured (see `python -m connector channels list`).",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"Channel {channel.channel} removed and its documents deleted from the index ({deleted} chunks).")
    return EXIT_OK


def channels_to_sync(settings: Settings, wanted: list[str] | None) -> tuple[list[ChannelConfig], str | None]:
    """The enabled configured channels (`wanted` ids, or all), or an error message."""
    store = _store(settings)
    if wanted is None:
        return [c for c in store.list_spaces() if c.enabled], None
    out = []
    for raw in dict.fromkeys(wanted):
        key = ChannelConfig.parse(raw).key
        channel = store.get_space(key)
        if channel is None:
            return [], (f"channel {raw} is not configured; add it with `python -m connector channels add {raw}`.")
        if not channel.enabled:
            return [], f"channel {raw} is disabled; enable it first (`python -m connector channels add {raw}`)."
        out.append(channel)
    return out, None


def sync_channels(channels: list[ChannelConfig], settings: Settings, full: bool, allow_mass_delete: bool,
                  as_json: bool):
    """Sync `channels`; returns the SyncReport (printed by the caller)."""
    from backend.embeddings import Embedder
    from backend.es import connect
    from backend.slack.client import SlackChannels
    from connector.progress import ProgressBars
    from connector.slack.sync import slack_runner

    es = connect(settings.es)
    client = SlackChannels(settings.slack, settings.slack_source)
    client.workspace_url()  # fail in a second on a wrong URL or token, before loading the model
    embedder = Embedder(settings.embed, settings.cache_dir)
    with ProgressBars(enabled=not as_json) as bars:
        runner = slack_runner(settings, es, embedder, store=ChannelStore(es, settings.es), client=client,
                              progress=bars.update, allow_mass_delete=allow_mass_delete)
        return runner.sync(channels, full=full)


def status_rows(settings: Settings) -> list[dict]:
    from backend.visibility import hidden_count

    store = _store(settings)
    rows = store.status()
    for row in rows:
        row["hidden_documents"] = hidden_count(store.es, settings, row["key"], "slack")
    return rows


def print_json(rows: list[dict]) -> None:
    print(json.dumps(rows, indent=2))
