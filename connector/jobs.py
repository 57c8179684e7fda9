"""rq jobs the backend enqueues by name (it never imports the connector): `connector.jobs.sync_space`, for a
Confluence space (`TOC`) or a Slack channel (`slack:C0123`: the channel's runner, connector/slack/sync.py).

    rq worker sync            # run from the repository root, with the same LORE_* settings as the backend

A job is an entry point: it reads the settings from the environment, syncs one space with the same runner as
`python -m connector sync`, and keeps its progress in `job.meta["progress"]` (phase, pages done and total) so
the admin page can poll it. A space whose sync fails fails the job, with the reason in `job.meta["reason"]`.
"""

from __future__ import annotations

import logging
import time

from backend.errors import LoreError
from backend.settings import Settings
from connector.runner import Progress

log = logging.getLogger(__name__)

SYNC_JOB = "connector.jobs.sync_space"  # the name backend/web/queues.py enqueues
CHANNEL_PREFIX = "slack:"  # backend/channel_config.py KEY_PREFIX: a channel configured as a space key
META_EVERY_S = 0.5  # progress writes to Redis at most this often while indexing (phase changes always go)


class SyncFailed(LoreError):
    code = "sync_failed"


class JobProgress:
    """The runner's progress hook: writes phase and counts into the current job's meta."""

    def __init__(self, job=None):
        self.job = job
        self._last = 0.0
        self._phase = ""

    def update(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == self._phase and p.phase == "indexing" and now - self._last < META_EVERY_S \
                and p.done < p.total:
            return
        self._phase, self._last = p.phase, now
        self.save(progress={"space": p.space, "phase": p.phase, "done": p.done, "total": p.total})

    def save(self, **meta) -> None:
        if self.job is None:
            return
        self.job.meta.update(meta)
        self.job.save_meta()


def sync_space(key: str, full: bool = False) -> dict:
    """Sync configured space or channel `key` (a full pass when `full`); returns its report as a dict."""
    from rq import get_current_job

    progress = JobProgress(get_current_job())
    try:
        sync = _sync_channel if key.startswith(CHANNEL_PREFIX) else _sync
        report = sync(Settings.from_env(), key, full, progress)
    except LoreError as exc:
        progress.save(reason=exc.message)
        raise
    if report["status"] not in ("ok", "partial"):
        reason = report.get("last_error") or f"the sync ended {report['status']}"
        progress.save(reason=reason)
        raise SyncFailed(f"{_what(key)}: {reason}")
    return report


def _sync(settings: Settings, key: str, full: bool, progress: JobProgress) -> dict:
    from backend.confluence import ConfluenceClient
    from backend.embeddings import Embedder
    from backend.es import connect
    from backend.spaces import SpaceStore
    from connector.confluence.source import ConfluenceSource
    from connector.recordings import MinutesHandoff
    from connector.runner import SyncOptions, SyncRunner

    es = connect(settings.es)
    store = SpaceStore(es, settings.es)
    space = store.get_space(key)
    if space is None:
        raise SyncFailed(f"Space {key} is not configured any more: choose it again on the Spaces page.")
    if not space.enabled:  # a disabled space is hidden from readers; a sync would show it again
        raise SyncFailed(f"Space {key} is disabled: enable it before syncing it.")
    progress.save(progress={"space": key, "phase": "starting", "done": 0, "total": 0})
    client = ConfluenceClient(settings.confluence)
    client.current_user()  # a wrong URL or an expired token fails in a second, before the model loads
    embedder = Embedder(settings.embed, settings.cache_dir)
    source = ConfluenceSource(client, settings.confluence, on_recording=MinutesHandoff(settings, space=key))
    try:
        runner = SyncRunner(settings, es, embedder, source, store, progress=progress.update,
                            options=SyncOptions.from_settings(settings))
        report = runner.sync_space(space, full)
    finally:
        source.close()  # removes the run's private attachment directory
    log.info("sync job done", extra={"space": key, "status": report.status, "pages": report.pages})
    return report.to_dict()


def _sync_channel(settings: Settings, key: str, full: bool, progress: JobProgress) -> dict:
    from backend.channel_config import ChannelStore
    from backend.embeddings import Embedder
    from backend.es import connect
    from backend.slack.client import SlackChannels
    from connector.slack.sync import slack_runner

    es = connect(settings.es)
    store = ChannelStore(es, settings.es)
    channel = store.get_space(key)
    if channel is None:
        raise SyncFailed(f"{_what(key)} is not configured any more: choose it again on the Spaces page.")
    if not channel.enabled:  # as for a space: a sync would show the hidden channel again
        raise SyncFailed(f"{_what(key)} is disabled: enable it before syncing it.")
    progress.save(progress={"space": key, "phase": "starting", "done": 0, "total": 0})
    if not settings.slack.bot_token:
        raise SyncFailed("No Slack bot token is configured for the sync worker: set LORE_SLACK_BOT_TOKEN where "
                         "`rq worker` runs.")
    client = SlackChannels(settings.slack, settings.slack_source)
    client.workspace_url()  # a wrong URL or a revoked token fails in a second, before the model loads
    embedder = Embedder(settings.embed, settings.cache_dir)
    runner = slack_runner(settings, es, embedder, store=store, client=client, progress=progress.update)
    report = runner.sync_space(channel, full)
    log.info("sync job done", extra={"space": key, "status": report.status, "pages": report.pages})
    return report.to_dict()


def _what(key: str) -> str:
    return f"Channel {key.removeprefix(CHANNEL_PREFIX)}" if key.startswith(CHANNEL_PREFIX) else f"Space {key}"
