"""The pages' one door to Redis/rq: start a space's sync as a job (by name: the backend never imports the
connector), read each space's latest sync job, list the jobs of a queue (minutes) generically, and ping Redis.

Each space has one job id on the sync queue (`<queue>-<KEY>`): a second click while it is queued or running is
refused, and a finished job stays readable (its progress and reason) until the next sync replaces it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from backend.errors import LoreError, ServiceUnavailable

SYNC_JOB = "connector.jobs.sync_space"  # connector/jobs.py
MINUTES_QUEUE = "minutes"  # where connector/recordings.py queues recordings for the minutes pipeline
ACTIVE = ("queued", "started", "deferred", "scheduled")
SYNC_TIMEOUT_S = 12 * 3600  # a first full sync of a 50k-page space on CPU embeddings takes hours, not days
KEEP_S = 7 * 24 * 3600  # finished and failed jobs stay visible for a week (the page shows the last one)
LISTED = 50  # jobs a queue listing shows: the newest, per state
START_HINT = "Start it with `bash infra/local/redis.sh start` or set LORE_REDIS_URL."
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class SyncAlreadyQueued(LoreError):
    code = "sync_already_queued"
    http_status = 409


@dataclass
class JobView:
    """What the pages show of one rq job, whatever queue it is on."""

    id: str
    state: str  # queued | started | finished | failed | stopped | canceled | deferred | scheduled
    progress: dict = field(default_factory=dict)  # job.meta["progress"]: {phase, done, total, ...}
    reason: str = ""  # why it failed (job.meta["reason"], else the last line of the exception)
    description: str = ""
    enqueued_at: str = ""
    ended_at: str = ""
    link: str = ""  # job.meta["link"]: e.g. the minutes page a minutes job posted

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_dict(self) -> dict:
        return {**self.__dict__, "active": self.active}


class Queues:
    def __init__(self, redis_url: str, sync_queue: str = "sync"):
        self.url = redis_url
        self.sync_queue = sync_queue
        self._conn: redis.Redis | None = None

    def conn(self) -> redis.Redis:
        if self._conn is None:
            # short timeouts: a page waits on these, and a Redis that does not answer in seconds is down
            self._conn = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)
        return self._conn

    def sync_job_id(self, key: str) -> str:
        safe = _SAFE.sub("_", key)
        if safe != key:  # personal space keys (~name) carry characters job ids may not: keep them apart
            safe += "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
        return f"{_SAFE.sub('_', self.sync_queue)}-{safe}"

    def start_sync(self, key: str, full: bool) -> JobView:
        """Enqueue `connector.jobs.sync_space(key, full)`; SyncAlreadyQueued while the last one is not done."""
        job_id = self.sync_job_id(key)
        with self._translated("starting a sync"):
            old = self._fetch(job_id)
            if old is not None and old.state in ACTIVE:
                raise SyncAlreadyQueued(f"A sync of {key} is already {old.state}: wait for it to finish.")
            if old is not None:
                Job.fetch(job_id, connection=self.conn()).delete()
            queue = Queue(self.sync_queue, connection=self.conn())
            try:
                job = queue.enqueue(SYNC_JOB, key, full, job_id=job_id, unique=True, job_timeout=SYNC_TIMEOUT_S,
                                    result_ttl=KEEP_S, failure_ttl=KEEP_S,
                                    description=f"{'full' if full else 'incremental'} sync of {key}",
                                    meta={"space": key, "full": full})
            except DuplicateJobError:  # another admin clicked at the same moment
                raise SyncAlreadyQueued(f"A sync of {key} was just started by someone else.") from None
        return _view(job)

    def sync_jobs(self, keys: list[str]) -> dict[str, JobView | None]:
        with self._translated("reading the sync jobs"):
            return {key: self._fetch(self.sync_job_id(key)) for key in keys}

    def jobs(self, queue_name: str, limit: int = LISTED) -> list[JobView]:
        """Jobs of any queue, newest first: waiting, running, then finished and failed ones."""
        with self._translated(f"listing the jobs of queue {queue_name}"):
            queue = Queue(queue_name, connection=self.conn())
            ids = list(queue.get_job_ids(0, limit - 1))
            for registry in (queue.started_job_registry, queue.failed_job_registry, queue.finished_job_registry,
                             queue.deferred_job_registry, queue.scheduled_job_registry):
                ids += registry.get_job_ids(0, limit - 1, desc=True)
            jobs = [j for j in Job.fetch_many(list(dict.fromkeys(ids)), connection=self.conn()) if j is not None]
        views = [_view(j) for j in jobs]
        active = sorted((v for v in views if v.active), key=lambda v: v.enqueued_at)
        done = sorted((v for v in views if not v.active), key=lambda v: v.ended_at or v.enqueued_at, reverse=True)
        return (active + done)[:limit]

    def health(self) -> dict:
        try:
            info = self.conn().info("server")
        except redis.RedisError as exc:
            return {"ok": False, "detail": f"not reachable ({type(exc).__name__})"}
        return {"ok": True, "detail": f"Redis {info.get('redis_version', '?')}"}

    def _fetch(self, job_id: str) -> JobView | None:
        try:
            return _view(Job.fetch(job_id, connection=self.conn()))
        except NoSuchJobError:
            return None

    def _translated(self, what: str):
        return _RedisErrors(self.url, what)


class _RedisErrors:
    """Redis client errors inside the block become ServiceUnavailable naming what we were doing."""

    def __init__(self, url: str, what: str):
        self.url, self.what = url, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, redis.RedisError):
            raise ServiceUnavailable("Redis", self.url, f"{self.what}: {type(exc).__name__}", START_HINT) from exc
        return False


def _view(job: Job) -> JobView:
    status = job.get_status(refresh=False)
    state = getattr(status, "value", status) or "unknown"
    meta = job.meta or {}
    reason = meta.get("reason") or ""
    if not reason and state == "failed":
        reason = _last_line(job)
    return JobView(id=job.id, state=str(state), progress=_progress(meta), reason=str(reason),
                   description=job.description or "", enqueued_at=_iso(job.enqueued_at), ended_at=_iso(job.ended_at),
                   link=str(meta.get("link") or meta.get("minutes_url") or ""))


def _progress(meta: dict) -> dict:
    """A sync job keeps {stage, done, total} under `progress`; the minutes job (backend/minutes/jobs.py) keeps a
    fraction there and its stage beside it. Both become the one shape the page shows."""
    progress = meta.get("progress")
    if isinstance(progress, dict):
        return dict(progress)
    if isinstance(progress, (int, float)) and not isinstance(progress, bool):
        return {"stage": str(meta.get("stage") or ""), "fraction": float(progress)}
    return {}


def _last_line(job: Job) -> str:
    """The exception's last line (its type and message), never the traceback: that is for the worker log."""
    try:
        result = job.latest_result()
        text = (result.exc_string if result is not None else "") or ""
    except Exception:  # noqa: BLE001 - an unreadable result is shown as "failed" without a reason
        text = ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else ""
