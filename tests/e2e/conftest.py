"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, Lore's app served over real HTTP on a
free port, the Confluence stand-in with a small space, the Slack stand-in with three channels of real IRC threads,
and a real `rq worker` process on a queue of its own.

Chromium comes from `apt-get install chromium` (infra/local/setup.sh); Playwright's own browser download is
not used. Screenshots of every page go to build/screenshots/ (gitignored), for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch
from werkzeug.serving import make_server

from backend.api import create_app
from backend.api.services import Services
from backend.embeddings import Embedder
from backend.llm import LLMClient
from backend.settings import Settings, WebSettings
from tests.conftest import REPO
from tests.integration.slack_bot import confluence_directory
from tests.standins import confluence_app, slack_app
from tests.standins.confluence_app import _QuietHandler
from tests.standins.slack_channels import seed_channels

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "build" / "screenshots"
ADMIN_TOKEN = "e2e-admin-token-5d1f0c"
DEMO_USERS = "alice@example.com,bob@example.com"
HANDBOOK = [  # (title, body): a small space whose pages answer one question clearly
    ("Handbook", "<p>The engineering handbook: how the platform team works.</p>"),
    ("Cutting a release", "<h2>Release steps</h2><p>To cut a release, the release manager tags the main branch with "
     "the next version number and runs the Kestrel publish pipeline, which builds and signs the artifacts.</p>"),
    ("On-call rotation", "<p>The on-call engineer changes every Monday at 10:00. Pages go to the Heron pager "
     "channel; the secondary takes over after fifteen minutes without an acknowledgement.</p>"),
    ("Code review", "<p>Every change needs one approving review from a code owner before it is merged.</p>"),
    ("Incident reviews", "<p>Incident reviews are blameless and are written within five working days.</p>"),
    ("Laptop setup", "<p>New laptops are enrolled in device management on the first day.</p>"),
    ("Holidays", "<p>Holiday requests go to your manager two weeks ahead.</p>"),
]


@dataclass
class Site:
    url: str  # http://127.0.0.1:<port>
    settings: Settings
    standin: confluence_app.StandinServer
    services: Services


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Headless Debian Chromium; missing, it fails with the command that installs it (never a skip)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash infra/local/setup.sh` (it installs Debian's chromium).",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def standin() -> Iterator[confluence_app.StandinServer]:
    """The stand-in's people (alice, bob, ...) and two spaces: HAND (seven pages) and OPS (empty)."""
    state = confluence_directory()
    state.add_space("HAND", "Engineering Handbook", groups={"confluence-users"})
    state.add_space("OPS", "Operations", groups={"confluence-users"})
    home = None
    for title, body in HANDBOOK:
        state.clock.advance(minutes=1)
        page = state.add_page("HAND", title, body, parent_id=home.id if home else None)
        home = home or page
    with confluence_app.serve(state) as server:
        yield server


SLACK_THREADS = 10  # of the IRC threads: 6 in #ubuntu-help (public), 2 in #ubuntu-dev, 2 in #core-team (private)


@pytest.fixture(scope="module")
def slack_standin(shared_data: Path) -> Iterator[slack_app.StandinServer]:
    state = slack_app.SlackState()
    seed_channels(state, shared_data / "chat" / "ubuntu-irc-dev-threads.jsonl", limit=SLACK_THREADS)
    with slack_app.serve(state) as server:
        yield server


@pytest.fixture(scope="module")
def e2e_settings(standin: confluence_app.StandinServer, slack_standin, es: Elasticsearch) -> Iterator[Settings]:
    """Settings with indices and a sync queue of this module's own (deleted afterwards)."""
    base = Settings.from_env(dotenv=None)
    tag = uuid.uuid4().hex[:8]
    s = replace(base,
                es=replace(base.es, index=f"lore-test-{tag}", config_index=f"lore-test-{tag}-config",
                           feedback_index=f"lore-test-{tag}-feedback"),
                confluence=standin.settings(sync_batch_size=2),  # several progress steps for seven pages
                api=replace(base.api, admin_token=ADMIN_TOKEN, sse_keepalive_seconds=5.0),
                # a short answer: the LLM server is shared and slow on a loaded CPU
                llm=replace(base.llm, max_tokens=48, timeout=240.0, retries=0),
                web=WebSettings(demo_users=DEMO_USERS, sync_queue=f"sync-test-{tag}"),
                slack=replace(base.slack, api_url=slack_standin.api_url, bot_token=slack_app.BOT_TOKEN),
                slack_source=replace(base.slack_source, members_index=f"lore-test-{tag}-members"))
    yield s
    found = es.indices.resolve_index(name=f"lore-test-{tag}*", expand_wildcards="all")
    names = [i["name"] for i in found.get("indices", [])]
    if names:
        es.indices.delete(index=",".join(names))


def settings_env(s: Settings) -> dict[str, str]:
    """The LORE_* variables that give a worker process the same settings."""
    c = s.confluence
    return {"LORE_ES_URL": s.es.url, "LORE_ES_INDEX": s.es.index, "LORE_ES_CONFIG_INDEX": s.es.config_index,
            "LORE_ES_FEEDBACK_INDEX": s.es.feedback_index, "LORE_REDIS_URL": s.redis_url,
            "LORE_CACHE_DIR": s.cache_dir, "LORE_CONFLUENCE_URL": c.url, "LORE_CONFLUENCE_EMAIL": c.email,
            "LORE_CONFLUENCE_API_TOKEN": c.api_token, "LORE_CONFLUENCE_CLOUD": c.cloud,
            "LORE_CONFLUENCE_SYNC_BATCH_SIZE": str(c.sync_batch_size), "LORE_EMBED_MODEL": s.embed.model,
            "LORE_SLACK_API_URL": s.slack.api_url, "LORE_SLACK_BOT_TOKEN": s.slack.bot_token,
            "LORE_SLACK_SOURCE_MEMBERS_INDEX": s.slack_source.members_index}


@pytest.fixture(scope="module")
def sync_worker(e2e_settings: Settings, redis_conn: redis.Redis, tmp_path_factory) -> Iterator[subprocess.Popen]:
    """`rq worker <queue>`, as an admin would run it, on this module's queue; stopped (by its pid) afterwards."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, **settings_env(e2e_settings), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--url", e2e_settings.redis_url,
                                 "--name", f"lore-e2e-{uuid.uuid4().hex[:8]}", e2e_settings.web.sync_queue],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()  # warm shutdown: rq finishes nothing new and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.returncode not in (0, -15, 143):
            print(log.read_text()[-4000:], file=sys.stderr)
        _drop_queue(redis_conn, e2e_settings.web.sync_queue)


def _drop_queue(conn: redis.Redis, name: str) -> None:
    """Delete the test queue's jobs (kept a week for the page otherwise) and its registries."""
    from rq import Queue
    from rq.job import Job

    queue = Queue(name, connection=conn)
    ids = queue.get_job_ids() + queue.finished_job_registry.get_job_ids() + queue.failed_job_registry.get_job_ids()
    for job in Job.fetch_many(ids, connection=conn):
        if job is not None:
            job.delete()
    queue.delete(delete_jobs=True)


@contextlib.contextmanager
def serve_app(settings: Settings, services: Services) -> Iterator[str]:
    app = create_app(settings, services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def site(e2e_settings: Settings, standin, es: Elasticsearch, sync_worker) -> Iterator[Site]:
    """Lore's app (JSON API and pages) on a free port, with the real index, LLM server and stand-in."""
    embedder = Embedder(e2e_settings.embed, e2e_settings.cache_dir)
    services = Services(e2e_settings, es=es, embedder=embedder, llm=LLMClient(e2e_settings.llm))
    with serve_app(e2e_settings, services) as url:
        yield Site(url, e2e_settings, standin, services)


def ensure_synced(site: Site, key: str = "HAND") -> None:
    """Index `key` in-process (as `connector sync` would) unless an earlier test synced it from the page."""
    from backend.confluence import ConfluenceClient
    from backend.spaces import SpaceConfig, SpaceStore
    from connector.confluence.source import ConfluenceSource
    from connector.runner import SyncRunner

    store = SpaceStore(site.services.es, site.settings.es)
    if store.get_state(key).finished:
        return
    space = store.add_space(SpaceConfig(key))
    source = ConfluenceSource(ConfluenceClient(site.settings.confluence), site.settings.confluence)
    try:
        report = SyncRunner(site.settings, site.services.es, site.services.embedder, source, store).sync_space(space)
    finally:
        source.close()
    assert report.status == "ok", report.render()
