"""The minutes job end to end: a real `rq worker` process, real Redis, Elasticsearch, tiny.en and the LLM server;
Confluence is the stand-in. A recording attached to a page becomes exactly one minutes page, even when the
worker is killed halfway; a new version updates it; restrictions carry over; bad files post nothing.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from elasticsearch import Elasticsearch
from rq import Queue

from backend.settings import Settings
from connector.recordings import MinutesHandoff
from tests.conftest import REPO
from tests.standins.confluence_app import ConfluenceState, StandinServer, User, serve
from tests.standins.confluence_state import SERVICE_ACCOUNT

SAMPLE = "TS3004b_92-127.wav"
# one job: ~10 s of tiny.en, two LLM calls (each cut at LORE_MINUTES_SUMMARY_CALL_TIMEOUT, then extractive) on a
# 2-core box shared with other test runs, and rq's retry of a killed job (~65 s)
JOB_SECONDS = 900
ALICE = User("557058:alice", "Alice", "alice@example.com", groups={"confluence-users", "design"})
BOB = User("557058:bob", "Bob", "bob@example.com", groups={"confluence-users"})


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    state = ConfluenceState()
    # job ids are minutes-<attachment id>-v<version>: ids unique to this test keep other runs' jobs out of it
    state._ids = itertools.count(int(uuid.uuid4().int % 10**9) * 1000)
    state.add_user(ALICE)
    state.add_user(BOB)
    state.add_space("MEET", "Meetings")
    state.add_page("MEET", "Meetings home", "<p>All our meetings.</p>")
    with serve(state) as server:
        yield server


@pytest.fixture
def queue_name(redis_conn: redis.Redis) -> Iterator[str]:
    name = f"lore-test-minutes-{uuid.uuid4().hex[:8]}"
    yield name
    queue = Queue(name, connection=redis_conn)
    for registry in (queue.finished_job_registry, queue.failed_job_registry, queue.scheduled_job_registry,
                     queue.started_job_registry):
        for job_id in registry.get_job_ids():
            redis_conn.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
    queue.empty()
    queue.delete(delete_jobs=True)
    for key in redis_conn.scan_iter(f"rq:*{name}*"):
        redis_conn.delete(key)


@pytest.fixture
def worker(standin: StandinServer, isolated_settings: Settings, queue_name: str
           ) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts `rq worker` processes (each in its own process group, so a SIGKILL takes its work horse too)."""
    conf = standin.settings()
    env = {**os.environ, "LORE_CONFLUENCE_URL": conf.url, "LORE_CONFLUENCE_EMAIL": conf.email,
           "LORE_CONFLUENCE_API_TOKEN": conf.api_token, "LORE_CONFLUENCE_CLOUD": conf.cloud,
           "LORE_ES_INDEX": isolated_settings.es.index, "LORE_ES_CONFIG_INDEX": isolated_settings.es.config_index,
           "LORE_MINUTES_RETRY_INTERVALS": "1,1,1", "LORE_LLM_MAX_TOKENS": "160", "LORE_LLM_TIMEOUT": "120",
           # short LLM answers (h-msum's summariser settings): the plumbing is tested, not the prose
           "LORE_MINUTES_SUMMARY_MAX_TOKENS": "200", "LORE_MINUTES_SUMMARY_SUMMARY_MAX_TOKENS": "120",
           "LORE_MINUTES_SUMMARY_CALL_TIMEOUT": "120"}
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "rq"), "worker", queue_name, "--url", isolated_settings.redis_url,
             "--with-scheduler", "--path", str(REPO), "--job-monitoring-interval", "5", "--maintenance-interval", "5"],
            cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _attach(state: ConfluenceState, title: str, path: Path, restricted_to: set[str] | None = None):
    page = state.add_page("MEET", title, "<p>Recording below.</p>", parent_id=state.spaces["MEET"].homepage_id)
    if restricted_to:
        state.restrict(page.id, users=restricted_to)
    return page, state.add_attachment(page.id, path.name, "audio/wav", path=path)


def _enqueue(settings: Settings, queue_name: str, page_id: str, att) -> str:
    status = MinutesHandoff(settings, space="MEET", queue=queue_name)(
        page_id, {"id": att.id, "title": att.title, "version": {"number": att.version}})
    assert "job minutes-" in status, status
    return f"minutes-{att.id}-v{att.version}"


def _wait(redis_conn: redis.Redis, queue_name: str, job_id: str, until: tuple[str, ...] = ("finished", "failed"),
          seconds: float = JOB_SECONDS):
    job = Queue(queue_name, connection=redis_conn).fetch_job(job_id)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh()
        if job.get_status() in until:
            return job
        time.sleep(1)
    pytest.fail(f"job {job_id} still {job.get_status()} after {seconds:.0f} s (meta {job.meta})")


def _minutes_pages(state: ConfluenceState, page_id: str) -> list:
    return [c for c in state.contents.values() if c.type == "page" and c.parent_id == page_id]


def test_a_recording_becomes_one_minutes_page_even_when_the_worker_dies_and_a_new_version_updates_it(
        standin: StandinServer, worker, redis_conn: redis.Redis, es: Elasticsearch, isolated_settings: Settings,
        queue_name: str, shared_data: Path) -> None:
    state = standin.state
    page, att = _attach(state, "Remote control design", shared_data / "audio" / SAMPLE)
    # the page is created but the worker never hears so: the worst moment to die
    state.delay("POST", "/rest/api/content", seconds=600)
    first = worker()
    job_id = _enqueue(isolated_settings, queue_name, page.id, att)
    deadline = time.monotonic() + JOB_SECONDS
    while not _minutes_pages(state, page.id) and time.monotonic() < deadline:
        assert first.poll() is None, "the worker died on its own"
        time.sleep(0.5)
    assert _minutes_pages(state, page.id), "no minutes page was created"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    # it died inside the window that matters: page created, nothing recorded as posted
    assert state.properties[(page.id, f"lore-minutes-{att.id}")]["value"]["state"] == "claimed"
    assert Queue(queue_name, connection=redis_conn).fetch_job(job_id).get_status() == "started"
    state.delays.clear()
    worker()  # a new worker takes up the abandoned job (rq's retry), as after a crash in production

    job = _wait(redis_conn, queue_name, job_id)

    assert job.get_status() == "finished", job.meta
    pages = _minutes_pages(state, page.id)
    assert [p.title for p in pages] == [f"Minutes: Remote control design ({att.when:%Y-%m-%d})"]
    for section in ("Summary", "Decisions", "Action items", "Topics", "Attendees", "Open questions"):
        assert f"<h2>{section}</h2>" in pages[0].body, f"no {section} section in the minutes page"
    assert job.meta["progress"] == 1.0 and job.meta["stage"] == "done"
    assert job.meta["minutes_url"].endswith(f"/spaces/MEET/pages/{pages[0].id}/Minutes%3A+Remote+control+design+"
                                            f"%28{att.when:%Y-%m-%d}%29")
    hits = es.search(index=isolated_settings.es.index,
                     query={"term": {"doc_id": f"confluence:transcript:{att.id}"}}, size=50)["hits"]["hits"]
    text = " ".join(h["_source"].get("text", "") for h in hits)
    assert "[00:00]" in text and "remote control" in text.lower(), "the transcript is not searchable with timestamps"

    # a new version of the recording: the same page is updated, no second page
    att.version += 1
    att.when = state.clock.advance(days=1)
    version_before = pages[0].version
    job2 = _wait(redis_conn, queue_name, _enqueue(isolated_settings, queue_name, page.id, att))

    assert job2.get_status() == "finished", job2.meta
    again = _minutes_pages(state, page.id)
    assert [p.id for p in again] == [pages[0].id] and again[0].version > version_before
    prop = state.properties[(page.id, f"lore-minutes-{att.id}")]["value"]
    assert prop["state"] == "posted" and prop["version"] == 2 and prop["page_id"] == pages[0].id


def test_minutes_of_a_restricted_recording_stay_restricted(standin: StandinServer, worker, redis_conn: redis.Redis,
                                                           isolated_settings: Settings, queue_name: str,
                                                           shared_data: Path) -> None:
    state = standin.state
    page, att = _attach(state, "Design review (private)", shared_data / "audio" / SAMPLE,
                        restricted_to={ALICE.account_id, SERVICE_ACCOUNT})
    worker()
    job = _wait(redis_conn, queue_name, _enqueue(isolated_settings, queue_name, page.id, att))

    assert job.get_status() == "finished", job.meta
    [minutes] = _minutes_pages(state, page.id)
    assert minutes.read_users == {ALICE.account_id, SERVICE_ACCOUNT}  # its own restriction, not only inherited
    assert state.can_read(ALICE, minutes) and not state.can_read(BOB, minutes)


def _wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype(np.int16).tobytes())
    return path


def test_bad_recordings_end_with_a_clear_reason_and_post_nothing(standin: StandinServer, worker,
                                                                 redis_conn: redis.Redis, isolated_settings: Settings,
                                                                 queue_name: str, shared_data: Path,
                                                                 tmp_path: Path) -> None:
    sample = (shared_data / "audio" / SAMPLE).read_bytes()
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(7).bytes(200_000))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(sample[: len(sample) // 3])
    unsupported = tmp_path / "unsupported.wav"
    unsupported.write_bytes(sample[:20] + b"\x34\x12" + sample[22:])  # WAVE format tag 0x1234: no decoder has it
    silent = _wav(tmp_path / "silent.wav", np.zeros(16000 * 20))
    expected = {corrupt: ("failed", "not a readable audio"), truncated: ("failed", "truncated"),
                unsupported: ("failed", "codec"), silent: ("finished", "no speech")}
    state = standin.state
    jobs = {}
    for path in expected:
        page, att = _attach(state, f"Meeting {path.stem}", path)
        jobs[path] = (page, _enqueue(isolated_settings, queue_name, page.id, att))
    worker()

    for path, (status, reason) in expected.items():
        page, job_id = jobs[path]
        job = _wait(redis_conn, queue_name, job_id, seconds=120)
        assert job.get_status() == status, (path.name, job.meta)
        assert reason in job.meta["reason"].lower(), (path.name, job.meta["reason"])
        assert _minutes_pages(state, page.id) == [], f"{path.name} produced a minutes page"
        assert job.retries_left in (0, None) or status == "finished", "a damaged file was scheduled for a retry"
        # the connector reads this and stops offering the same damaged version (connector/recordings.py)
        assert job.meta.get("permanent") is (True if status == "failed" else None), (path.name, job.meta)
