"""Recordings reach the minutes pipeline as an rq job named by its dotted path, on the real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
from rq import Queue

from backend.settings import Settings
from connector.recordings import MINUTES_JOB, MinutesHandoff, is_queued


def test_a_recording_is_enqueued_once_per_version_by_job_name(settings: Settings, redis_conn: redis.Redis,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.recordings.minutes_pipeline_available", lambda: True)
    name = f"lore-test-minutes-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, connection=redis_conn)
    hook = MinutesHandoff(settings, space="MEET", queue=name)
    attachment = {"id": "att42", "title": "call.mp4", "version": {"number": 3}}
    try:
        status = hook("1234", attachment)
        again = hook("1234", attachment)  # a re-sync of the same version

        assert is_queued(status) and "minutes-att42-v3" in status
        assert queue.job_ids == ["minutes-att42-v3"]
        job = queue.fetch_job("minutes-att42-v3")
        assert job.func_name == MINUTES_JOB
        assert job.kwargs == {"page_id": "1234", "attachment_id": "att42", "version": 3, "title": "call.mp4",
                              "space": "MEET"}
        assert is_queued(again)
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)
