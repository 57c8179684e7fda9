"""Wiring for channel syncs: the Slack source with its membership hook, the runner's options, purging a channel.

The generic runner (connector/runner.py) does the rest: cursor, skip-unchanged, chunking, embedding, prune, locks.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from backend.channel_config import ChannelStore
from backend.channels import ChannelMembers
from backend.embeddings import Embedder
from backend.settings import Settings
from backend.slack.client import SlackChannels
from connector.runner import ProgressHook, SyncOptions, SyncRunner
from connector.slack.source import SlackSource


def slack_options(settings: Settings, **overrides) -> SyncOptions:
    """The runner's knobs for channels: batches of threads, and an overlap as long as the re-read window."""
    src, conf = settings.slack_source, settings.confluence
    values = {"batch_size": max(1, src.threads_per_batch), "overlap_minutes": int(src.reread_hours * 60),
              "workers": max(1, conf.workers), "full_every_hours": conf.full_sync_hours,
              "lock_seconds": conf.sync_lock_seconds}
    return SyncOptions(**{**values, **overrides})


def slack_source(settings: Settings, es: Elasticsearch, client: SlackChannels | None = None) -> SlackSource:
    """A source whose channel members land in the membership side index (the ACL readers are matched against)."""
    members = ChannelMembers(es, settings.slack_source)
    client = client or SlackChannels(settings.slack, settings.slack_source)
    return SlackSource(client, settings.slack_source, on_members=members.write)


def slack_runner(settings: Settings, es: Elasticsearch, embedder: Embedder, *, store: ChannelStore | None = None,
                 client: SlackChannels | None = None, progress: ProgressHook | None = None,
                 **options) -> SyncRunner:
    store = store or ChannelStore(es, settings.es)
    return SyncRunner(settings, es, embedder, slack_source(settings, es, client), store, progress=progress,
                      options=slack_options(settings, **options))

