"""Recordings found among attachments go to the minutes pipeline, by rq job name (never by import).

When no Redis queue is configured, or the pipeline (`backend.minutes.jobs.process_recording`) is not
installed, a recording is only listed in the sync report with the reason. `MinutesHandoff.reoffer` is what
the sync's re-offer pass (connector/requeue.py) calls for a recording it remembers: it leaves a live job
alone, recognises minutes that are done, and queues the rest again.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.errors import LoreError
from backend.settings import Settings

log = logging.getLogger(__name__)

MINUTES_JOB = "backend.minutes.jobs.process_recording"
MINUTES_QUEUE = "minutes"
QUEUED = "recording queued for minutes"
NOT_AVAILABLE = f"{QUEUED}: not yet available"
DONE = "minutes done"
FAILED = "minutes failed"
_RETRYABLE = ("failed", "stopped", "canceled")  # job states after which a new hand-off should queue it again
LIVE = ("queued", "started", "deferred", "scheduled")  # a job in one of these will still run: never queue twice
JOB_TIMEOUT_S = 3 * 3600  # a long meeting on CPU Whisper takes a fraction of real time; 3 h is generous
# A finished job's result is what tells the re-offer pass that the minutes are done without asking Confluence;
# rq's default (500 s) is shorter than the interval between two syncs. A week covers a sync timer that was off
# for days; past it the pass reads the exactly-once record on the page instead (one call, once).
RESULT_TTL_S = 7 * 24 * 3600
# A job that failed (its retries spent) is offered again this long after it ended: a Confluence or
# Elasticsearch outage longer than the worker's retries heals within a day (the cadence of the full pass that
# used to be the only way back). A damaged file (the job's meta says `permanent`) is not offered again at all:
# only a new version of the recording, which is a new job, is.
FAILED_RETRY_AFTER = timedelta(hours=24)


def _permanent(job: Any, state: str | None) -> bool:
    """A job that failed because the file itself is damaged (backend/minutes/jobs.py FILE_FAULTS)."""
    return job is not None and state == "failed" and bool((job.meta or {}).get("permanent"))


def _failed(job: Any) -> str:
    reason = (job.meta or {}).get("reason") or "the recording could not be transcribed"
    return f"{FAILED} (job {job.id}): {reason} A new version of the recording is tried again."


def is_queued(status: str) -> bool:
    """True once a job exists; other statuses are retried on the next sync."""
    return status.startswith(f"{QUEUED} (job ")


def job_id_for(attachment_id: str, version: int | str) -> str:
    """One job per attachment version: a second enqueue of the same version finds this id and does nothing."""
    return f"minutes-{attachment_id}-v{version}"


def minutes_pipeline_available() -> bool:
    try:
        return importlib.util.find_spec(MINUTES_JOB.rsplit(".", 1)[0]) is not None
    except ModuleNotFoundError:  # a parent package (backend.minutes) is missing
        return False


@dataclass(frozen=True)
class Offer:
    """What re-offering one remembered recording came to."""

    status: str  # a line for the sync report
    outcome: str  # "queued" (a job was enqueued now) | "live" | "done" | "waiting" | "unavailable" | "failed"


class MinutesHandoff:
    """The default `on_recording` hook: enqueue the minutes job when Redis and the pipeline are there."""

    def __init__(self, settings: Settings, space: str = "", queue: str | None = None, client: Any = None):
        self.settings = settings
        self.space = space
        self.queue_name = queue or settings.minutes.queue or MINUTES_QUEUE  # LORE_MINUTES_QUEUE
        self._queue: Any = None
        self._client = client  # a ConfluenceClient, made on first use: only `reoffer` reads Confluence

    def __call__(self, page_id: str, attachment: dict) -> str:
        version = (attachment.get("version") or {}).get("number", 1)
        return self._enqueue(page_id, attachment["id"], version, attachment.get("title", ""), self.space)

    def reoffer(self, page_id: str, attachment_id: str, version: int | str, title: str, space: str = "") -> Offer:
        """Queue a remembered recording again unless its job is live or its minutes are done.

        Done means: its job finished (posted, or nothing to post: no speech, a newer version), or the recording
        page's exactly-once record (backend/minutes/post.py) names this version or a newer one as posted.
        """
        unavailable = self._unavailable()
        if unavailable:
            return Offer(unavailable, "unavailable")
        import redis

        job_id = job_id_for(attachment_id, version)
        try:
            job = self._get_queue().fetch_job(job_id)
            state = job.get_status(refresh=False) if job is not None else None
        except redis.RedisError as exc:
            return Offer(_redis_failed(exc), "unavailable")
        if state in LIVE:
            return Offer(f"{QUEUED} (job {job_id})", "live")
        if state == "finished":
            return Offer(f"{DONE} (job {job_id})", "done")
        if _permanent(job, state):
            return Offer(_failed(job), "failed")
        if state in _RETRYABLE and not _ended_before(job, FAILED_RETRY_AFTER):
            return Offer(f"{QUEUED}: job {job_id} {state}; offered again {_hours(FAILED_RETRY_AFTER)} h after it "
                         "ended", "waiting")
        if self._posted(page_id, attachment_id, int(version)):
            return Offer(f"{DONE} (recorded on page {page_id})", "done")
        status = self._enqueue(page_id, attachment_id, version, title, space or self.space)
        return Offer(status, "queued" if is_queued(status) else "unavailable")

    def _enqueue(self, page_id: str, attachment_id: str, version: int | str, title: str, space: str) -> str:
        unavailable = self._unavailable()
        if unavailable:
            return unavailable
        import redis

        job_id = job_id_for(attachment_id, version)
        try:
            queue = self._get_queue()
            existing = queue.fetch_job(job_id)
            state = existing.get_status(refresh=False) if existing is not None else None
            if _permanent(existing, state):
                return _failed(existing)  # downloading the same damaged file again would fail the same way
            if existing is not None and state not in _RETRYABLE:
                return f"{QUEUED} (job {job_id})"
            job = queue.enqueue(
                MINUTES_JOB,
                kwargs={"page_id": page_id, "attachment_id": attachment_id, "version": version, "title": title,
                        "space": space},
                job_id=job_id,
                job_timeout=JOB_TIMEOUT_S,
                result_ttl=RESULT_TTL_S,
            )
        except redis.RedisError as exc:
            return _redis_failed(exc)
        log.info("recording queued for minutes", extra={"page_id": page_id, "attachment": attachment_id})
        return f"{QUEUED} (job {job.id})"

    def _unavailable(self) -> str:
        if not self.settings.redis_url:
            return f"{NOT_AVAILABLE} (no Redis queue configured: set LORE_REDIS_URL)"
        if not minutes_pipeline_available():
            return NOT_AVAILABLE
        return ""

    def _posted(self, page_id: str, attachment_id: str, version: int) -> bool:
        """The recording page's exactly-once record says this version (or a newer one) was posted."""
        from backend.minutes.post import posted_record, property_key

        try:
            record = posted_record(self._writer(), page_id, property_key(self.settings.minutes.property_key,
                                                                         attachment_id))
        except LoreError as exc:  # unknown: queue it; the job reads the record again before any work
            log.warning("could not read the minutes record of page %s: %s", page_id, exc.message)
            return False
        try:
            return record.get("state") == "posted" and int(record.get("version", 0)) >= version
        except (TypeError, ValueError):
            return False

    def _writer(self) -> Any:
        from backend.confluence import ConfluenceClient
        from backend.confluence.write import ConfluenceWriter

        if self._client is None:
            self._client = ConfluenceClient(self.settings.confluence)
        return ConfluenceWriter(self._client)

    def _get_queue(self) -> Any:
        if self._queue is None:
            import redis
            from rq import Queue

            self._queue = Queue(self.queue_name, connection=redis.Redis.from_url(self.settings.redis_url))
        return self._queue


def _redis_failed(exc: Exception) -> str:
    return f"{QUEUED}: failed, Redis at LORE_REDIS_URL did not answer ({type(exc).__name__}); next sync retries"


def _ended_before(job: Any, age: timedelta) -> bool:
    ended = job.ended_at
    if ended is None:  # stopped or canceled before it ran: nothing says when, so it may go again now
        return True
    ended = ended if ended.tzinfo else ended.replace(tzinfo=UTC)  # rq stores naive UTC
    return datetime.now(UTC) - ended >= age


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"
