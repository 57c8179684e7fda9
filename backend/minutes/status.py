"""Where the minutes jobs stand, read from rq's registries on Redis: for GET /api/admin/jobs and `connector status`."""

from __future__ import annotations

from typing import Any

from backend.errors import ServiceUnavailable
from backend.settings import Settings

MAX_JOBS = 200  # per state: the admin page shows recent work, not history
META_FIELDS = ("stage", "progress", "reason", "minutes_url", "minutes_page_id", "page_id", "attachment_id", "version",
               "title", "space", "method")


def list_jobs(settings: Settings, connection: Any = None, queue: str | None = None) -> list[dict]:
    """Every minutes job rq still knows (queued, started, scheduled for a retry, finished, failed), newest first."""
    import redis
    from rq import Queue
    from rq.job import Job

    conn = connection or redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    q = Queue(queue or settings.minutes.queue, connection=conn)
    try:
        ids: list[str] = list(q.get_job_ids()[:MAX_JOBS])
        for registry in (q.started_job_registry, q.scheduled_job_registry, q.deferred_job_registry,
                         q.finished_job_registry, q.failed_job_registry):
            ids += [i for i in registry.get_job_ids(0, MAX_JOBS - 1) if i not in ids]
        jobs = [j for j in Job.fetch_many(ids, connection=conn) if j is not None]
    except redis.RedisError as exc:
        raise ServiceUnavailable("Redis", settings.redis_url, type(exc).__name__,
                                 "Start it with `bash infra/local/redis.sh start` or set LORE_REDIS_URL.") from None
    rows = [job_row(j) for j in jobs]
    rows.sort(key=lambda r: r["enqueued_at"] or "", reverse=True)
    return rows


def job_row(job: Any) -> dict:
    meta = job.meta or {}
    state = job.get_status(refresh=False)
    state = getattr(state, "value", state)
    row: dict[str, Any] = {"id": job.id, "state": state}
    row.update({k: meta.get(k, "" if k != "progress" else 0.0) for k in META_FIELDS})
    if state == "failed" and not row["reason"]:
        row["reason"] = _last_line(job)  # a crash outside our handling (a killed worker: AbandonedJobError)
    row["retries_left"] = job.retries_left
    row["enqueued_at"] = job.enqueued_at.isoformat() if job.enqueued_at else None
    row["ended_at"] = job.ended_at.isoformat() if job.ended_at else None
    return row


def _last_line(job: Any) -> str:
    try:
        result = job.latest_result()
        text = (getattr(result, "exc_string", "") or "") if result else ""
    except Exception:  # an old or foreign result format: the state alone must still show
        text = ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def render(rows: list[dict]) -> str:
    """Text for `python -m connector status`: one line per job."""
    if not rows:
        return "minutes jobs: none"
    out = [f"minutes jobs ({len(rows)}):"]
    for r in rows:
        line = f"  {r['id']}: {r['state']}"
        if r["state"] not in ("finished", "failed"):
            line += f", {r['stage'] or 'waiting'} {float(r['progress'] or 0) * 100:.0f}%"
        if r["minutes_url"]:
            line += f", minutes: {r['minutes_url']}"
        if r["reason"]:
            line += f" ({r['reason']})"
        out.append(line)
    return "\n".join(out)
