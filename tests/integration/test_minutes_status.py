"""Minutes jobs as an admin sees them: GET /api/admin/jobs and `python -m connector status`, on the real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from rq import Queue, SimpleWorker

from backend.api import create_app
from backend.settings import Settings
from connector.recordings import MINUTES_JOB
from tests.conftest import REPO

ADMIN = "admin-secret"


@pytest.fixture
def jobs_settings(isolated_settings: Settings, redis_conn: redis.Redis) -> Iterator[Settings]:
    """A queue of its own with one job in progress and one that failed (no Confluence configured)."""
    name = f"lore-test-minutes-{uuid.uuid4().hex[:8]}"
    settings = replace(isolated_settings, minutes=replace(isolated_settings.minutes, queue=name),
                       api=replace(isolated_settings.api, admin_token=ADMIN))
    queue = Queue(name, connection=redis_conn)
    kwargs = {"page_id": "42", "attachment_id": "att7", "version": 1, "title": "standup.m4a", "space": "MEET"}
    failing = queue.enqueue(MINUTES_JOB, kwargs=kwargs, job_id=f"{name}-att7-v1")
    SimpleWorker([queue], connection=redis_conn).work(burst=True)  # runs it here: LORE_CONFLUENCE_URL is empty
    waiting = queue.enqueue(MINUTES_JOB, kwargs={**kwargs, "attachment_id": "att8", "title": "retro.mp4"},
                            job_id=f"{name}-att8-v1")
    waiting.meta.update(stage="transcribing", progress=0.4, title="retro.mp4")
    waiting.save_meta()
    yield settings
    for job in (failing, waiting):
        job.delete()
    queue.delete(delete_jobs=True)
    for key in redis_conn.scan_iter(f"rq:*{name}*"):
        redis_conn.delete(key)


def test_admin_api_lists_minutes_jobs_with_state_progress_and_reason(jobs_settings: Settings) -> None:
    client = create_app(jobs_settings).test_client()

    assert client.get("/api/admin/jobs").status_code == 401
    resp = client.get("/api/admin/jobs", headers={"Authorization": f"Bearer {ADMIN}"})

    assert resp.status_code == 200
    rows = {r["title"]: r for r in resp.get_json()["jobs"]}
    assert rows["retro.mp4"]["state"] == "queued" and rows["retro.mp4"]["progress"] == 0.4
    assert rows["retro.mp4"]["stage"] == "transcribing"
    failed = rows["standup.m4a"]
    assert failed["state"] == "failed" and "LORE_CONFLUENCE_URL" in failed["reason"]
    assert failed["retries_left"] == 0  # a configuration error is not retried
    assert set(failed) >= {"id", "minutes_url", "page_id", "enqueued_at"}


def test_connector_status_shows_minutes_jobs(jobs_settings: Settings) -> None:
    env = {**os.environ, "LORE_MINUTES_QUEUE": jobs_settings.minutes.queue,
           "LORE_ES_CONFIG_INDEX": jobs_settings.es.config_index, "LORE_ES_INDEX": jobs_settings.es.index}
    run = subprocess.run([sys.executable, "-m", "connector", "status"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert "minutes jobs (2):" in run.stdout
    assert "att8-v1: queued, transcribing 40%" in run.stdout
    assert "att7-v1: failed (" in run.stdout and "LORE_CONFLUENCE_URL" in run.stdout
