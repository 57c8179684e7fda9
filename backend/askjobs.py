"""Answers as jobs for the Confluence macros: a Forge UI call gives up after 25 s, a CPU answer can take longer.

`submit` starts the answer in a bounded thread pool and returns a job id at once; the macro polls `get`.
Jobs live in Redis for `job_ttl_seconds` under their owner (the verified asker): anyone else asking for the
id gets the same "no such job" as for an id that never existed, so ids cannot be probed. Each owner may
submit `asks_per_minute` questions a minute (a fixed one-minute window in Redis, shared by every API process).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from backend.errors import LoreError, ServiceUnavailable
from backend.settings import MacroSettings

log = logging.getLogger(__name__)

KEY = "lore:macro:job:{id}"
RATE_KEY = "lore:macro:rate:{owner}:{minute}"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
POLL_AFTER_MS = 1500  # what the macro waits between polls: answers take seconds, Redis reads are cheap


class TooManyQuestions(LoreError):
    code = "rate_limited"
    retryable = True
    http_status = 429


class NoSuchJob(LoreError):
    code = "not_found"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("No such answer: it may have expired. Ask the question again.")


Run = Callable[[], dict]  # the work of one job: returns the answer as a dict


class AnswerJobs:
    def __init__(self, conn: redis.Redis, settings: MacroSettings, *, clock: Callable[[], float] = time.time):
        if settings.workers < 1 or settings.queue_size < 0:
            raise ValueError("LORE_MACRO_WORKERS must be 1 or more and LORE_MACRO_QUEUE_SIZE 0 or more")
        self.redis = conn
        self.settings = settings
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="lore-macro")
        self._capacity = settings.workers + settings.queue_size
        self._accepted = 0  # submitted and not finished
        self._lock = threading.Lock()

    def submit(self, owner: str, run: Run, on_done: Callable[[str, dict], None] | None = None) -> str:
        """Start `run` as a job of `owner`; TooManyQuestions when the owner or the server is at its limit."""
        self._count_ask(owner)
        with self._lock:
            if self._accepted >= self._capacity:
                raise TooManyQuestions("Lore is answering many questions right now. Try again in a minute.")
            self._accepted += 1
        job_id = uuid.uuid4().hex  # 128 random bits: also the answer id feedback refers to
        try:
            self._save(job_id, {"owner": owner, "state": QUEUED, "created": self._clock()})
            self._pool.submit(self._work, job_id, owner, run, on_done)
        except BaseException:
            with self._lock:
                self._accepted -= 1
            raise
        return job_id

    def get(self, owner: str, job_id: str) -> dict:
        """The job as its owner may see it: state, and the answer or the error once finished."""
        job = self._load(job_id)
        if job is None or job.get("owner") != owner:
            raise NoSuchJob()
        job.pop("owner")
        job["id"] = job_id
        if job["state"] in (QUEUED, RUNNING):
            job["poll_after_ms"] = POLL_AFTER_MS
        return job

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)

    # ---- internals --------------------------------------------------------------------------------

    def _work(self, job_id: str, owner: str, run: Run, on_done: Callable[[str, dict], None] | None) -> None:
        try:
            self._save(job_id, {"owner": owner, "state": RUNNING})
            try:
                answer = run()
            except LoreError as exc:
                self._save(job_id, {"owner": owner, "state": FAILED, "error": exc.to_dict()})
                return
            except Exception:
                log.exception("answer job failed", extra={"job_id": job_id})
                self._save(job_id, {"owner": owner, "state": FAILED, "error": {
                    "code": "internal_error", "retryable": True,
                    "message": "Something went wrong while answering; the error was logged. Try again."}})
                return
            self._save(job_id, {"owner": owner, "state": DONE, "answer": answer})
            if on_done:
                try:
                    on_done(job_id, answer)
                except Exception:  # recording feedback context must never cost the asker the answer
                    log.warning("after-answer step failed", exc_info=True, extra={"job_id": job_id})
        except ServiceUnavailable:
            log.warning("Redis went away while an answer job ran; its asker will see it expire",
                        extra={"job_id": job_id})
        finally:
            with self._lock:
                self._accepted -= 1

    def _count_ask(self, owner: str) -> None:
        limit = self.settings.asks_per_minute
        if limit <= 0:
            return
        key = RATE_KEY.format(owner=owner, minute=int(self._clock() // 60))
        try:
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)  # outlives its minute, then goes
            count = pipe.execute()[0]
        except redis.RedisError as exc:
            raise _redis_down(self.redis, exc) from exc
        if count > limit:
            raise TooManyQuestions(f"You asked {limit} questions in the last minute; wait a moment and ask again.")

    def _save(self, job_id: str, job: dict[str, Any]) -> None:
        if "created" not in job:
            old = self._load(job_id) or {}
            job["created"] = old.get("created")
        try:
            self.redis.set(KEY.format(id=job_id), json.dumps(job), ex=self.settings.job_ttl_seconds)
        except redis.RedisError as exc:
            raise _redis_down(self.redis, exc) from exc

    def _load(self, job_id: str) -> dict | None:
        if not isinstance(job_id, str) or len(job_id) != 32 or not all(c in "0123456789abcdef" for c in job_id):
            return None
        try:
            raw = self.redis.get(KEY.format(id=job_id))
        except redis.RedisError as exc:
            raise _redis_down(self.redis, exc) from exc
        return json.loads(raw) if raw else None


def _redis_down(conn: redis.Redis, exc: Exception) -> ServiceUnavailable:
    kw = conn.connection_pool.connection_kwargs
    url = f"redis://{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"
    return ServiceUnavailable("Redis", url, type(exc).__name__, "Start it, or set LORE_REDIS_URL.")


def owner_of(surface: str, *parts: str) -> str:
    """A stable owner key for one asker on one surface (`forge`, `dc`)."""
    return ":".join([surface, *[p.replace(":", "_") for p in parts if p]]) or surface


def spaces_filter(spaces: Sequence[str]) -> list[dict]:
    return [{"terms": {"space": sorted(set(spaces))}}] if spaces else []
