"""Recordings found among attachments go to the minutes pipeline, by rq job name (never by import).

The pipeline (`backend.minutes.jobs.process_recording`) is a later piece of work: until it exists, or when
no Redis queue is configured, a recording is only listed in the sync report with the reason.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from backend.settings import Settings

log = logging.getLogger(__name__)

MINUTES_JOB = "backend.minutes.jobs.process_recording"
MINUTES_QUEUE = "minutes"
QUEUED = "recording queued for minutes"
NOT_AVAILABLE = f"{QUEUED}: not yet available"
_RETRYABLE = ("failed", "stopped", "canceled")  # job states after which a new hand-off should queue it again
JOB_TIMEOUT_S = 3 * 3600  # a long meeting on CPU Whisper takes a fraction of real time; 3 h is generous


def is_queued(status: str) -> bool:
    """True once a job exists; other statuses are retried on the next sync."""
    return status.startswith(f"{QUEUED} (job ")


def minutes_pipeline_available() -> bool:
    try:
        return importlib.util.find_spec(MINUTES_JOB.rsplit(".", 1)[0]) is not None
    except ModuleNotFoundError:  # a parent package (backend.minutes) is missing
        return False


class MinutesHandoff:
    """The default `on_recording` hook: enqueue the minutes job when Redis and the pipeline are there."""

    def __init__(self, settings: Settings, space: str = "", queue: str | None = None):
        self.settings = settings
        self.space = space
        self.queue_name = queue or settings.minutes.queue or MINUTES_QUEUE  # LORE_MINUTES_QUEUE
        self._queue: Any = None

    def __call__(self, page_id: str, attachment: dict) -> str:
        if not self.settings.redis_url:
            return f"{NOT_AVAILABLE} (no Redis queue configured: set LORE_REDIS_URL)"
        if not minutes_pipeline_available():
            return NOT_AVAILABLE
        import redis

        version = (attachment.get("version") or {}).get("number", 1)
        # one job per attachment version: a re-sync (or a retry after a crash) does not queue it twice
        job_id = f"minutes-{attachment['id']}-v{version}"
        try:
            queue = self._get_queue()
            existing = queue.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=False) not in _RETRYABLE:
                return f"{QUEUED} (job {job_id})"
            job = queue.enqueue(
                MINUTES_JOB,
                kwargs={"page_id": page_id, "attachment_id": attachment["id"], "version": version,
                        "title": attachment.get("title", ""), "space": self.space},
                job_id=job_id,
                job_timeout=JOB_TIMEOUT_S,
            )
        except redis.RedisError as exc:
            return f"{QUEUED}: failed, Redis at LORE_REDIS_URL did not answer ({type(exc).__name__}); next sync retries"
        log.info("recording queued for minutes", extra={"page_id": page_id, "attachment": attachment["id"]})
        return f"{QUEUED} (job {job.id})"

    def _get_queue(self) -> Any:
        if self._queue is None:
            import redis
            from rq import Queue

            self._queue = Queue(self.queue_name, connection=redis.Redis.from_url(self.settings.redis_url))
        return self._queue
