"""The admin pages' session and secrets, through Flask's test client on the real index (the browser tests in
tests/e2e cover the pages as a person uses them)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient

from backend.api import create_app
from backend.api.services import Services
from backend.settings import Settings, WebSettings

TOKEN = "web-admin-token-for-tests"
SECRETS = {"confluence": "conf-api-token-7f3e", "es": "es-password-91ab", "llm": "llm-api-key-55cd",
           "slack": "xoxb-slack-token-0e1f", "web": "web-secret-key-3a4b"}


def settings_with_secrets(base: Settings, **web) -> Settings:
    return replace(base, api=replace(base.api, admin_token=TOKEN),
                   es=replace(base.es, username="elastic", password=SECRETS["es"]),
                   llm=replace(base.llm, api_key=SECRETS["llm"]),
                   confluence=replace(base.confluence, url="", api_token=SECRETS["confluence"]),
                   slack=replace(base.slack, bot_token=SECRETS["slack"]),
                   web=WebSettings(secret_key=SECRETS["web"], **web))


def client_for(settings: Settings, es: Elasticsearch) -> FlaskClient:
    # the index client is injected: these settings carry a password the test cluster does not use
    return create_app(settings, services=Services(settings, es=es)).test_client()


def csrf(client: FlaskClient, path: str = "/admin/sign-in") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def sign_in(client: FlaskClient, token: str = TOKEN, next_: str = ""):
    return client.post("/admin/sign-in", data={"token": token, "csrf_token": csrf(client), "next": next_})


@pytest.fixture
def web_settings(isolated_settings: Settings) -> Settings:
    return settings_with_secrets(isolated_settings)


def test_no_admin_page_shows_a_secret(web_settings: Settings, es: Elasticsearch) -> None:
    client = client_for(web_settings, es)
    assert sign_in(client).status_code == 302
    for path in ("/admin/sync", "/admin/spaces", "/admin/feedback", "/admin/health", "/admin/jobs",
                 "/admin/sync/status.json"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        for name, secret in [*SECRETS.items(), ("admin", TOKEN)]:
            assert secret not in resp.text, f"{path} shows the {name} secret"
    health = client.get("/admin/health").text
    assert "Elasticsearch" in health and "LLM server" in health and "not configured (LORE_CONFLUENCE_URL)" in health


def test_rotating_the_admin_token_signs_every_admin_out(web_settings: Settings, es: Elasticsearch) -> None:
    before = client_for(web_settings, es)
    sign_in(before)
    cookie = before.get_cookie("lore_session")
    assert before.get("/admin/jobs").status_code == 200

    # the same secret key (the cookie still verifies), a new admin token
    rotated = client_for(replace(web_settings, api=replace(web_settings.api, admin_token="a-new-token")), es)
    rotated.set_cookie("lore_session", cookie.value)
    resp = rotated.get("/admin/jobs")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/sign-in")


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_configured(
        web_settings: Settings, es: Elasticsearch) -> None:
    header = sign_in(client_for(web_settings, es)).headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    secure = replace(web_settings, web=replace(web_settings.web, cookie_secure=True))
    assert "Secure" in sign_in(client_for(secure, es)).headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["//evil.example/admin", "https://evil.example/", "/api/admin/spaces",
                                    "/admin\\..\\x"])
def test_sign_in_only_returns_to_an_admin_page(web_settings: Settings, es: Elasticsearch, target: str) -> None:
    resp = sign_in(client_for(web_settings, es), next_=target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/sync"


def test_pages_load_nothing_from_elsewhere_and_cannot_be_framed(web_settings: Settings, es: Elasticsearch) -> None:
    client = client_for(web_settings, es)
    resp = client.get("/admin/sign-in")
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert not re.search(r'(src|href)="(https?:)?//', resp.text)  # no CDN: everything from this server


def test_without_demo_users_the_ask_page_says_how_to_sign_in(web_settings: Settings, es: Elasticsearch) -> None:
    client = client_for(web_settings, es)  # LORE_WEB_DEMO_USERS empty: nobody may pick an email
    assert "single sign-on" in client.get("/ask").text
    token = csrf(client)  # the session's token (the ask page shows no form without a way to sign in)
    resp = client.post("/ask/sign-in", data={"email": "alice@example.com", "csrf_token": token})
    assert resp.status_code == 401
    resp = client.post("/ask/stream", json={"question": "hi"}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "not_signed_in"


def test_a_queue_listing_shows_each_jobs_state_progress_and_reason(redis_conn) -> None:
    import uuid

    from rq import Queue, SimpleWorker

    from backend.web.queues import Queues, SyncAlreadyQueued

    name = f"lore-test-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, connection=redis_conn)
    try:
        queue.enqueue("json.loads", "{not json", description="a job that fails")
        SimpleWorker([queue], connection=redis_conn).work(burst=True)  # in-process: it fails with the reason
        queue.enqueue("json.loads", "{}", description="minutes of the TOC call",
                      meta={"progress": {"stage": "transcribing", "fraction": 0.4}, "link": "http://wiki/p/1"})
        # what backend.minutes.jobs really keeps: a fraction under `progress`, the stage beside it, the page link
        queue.enqueue("json.loads", "{}", description="minutes of the board call",
                      meta={"stage": "summarising", "progress": 0.75, "minutes_url": "http://wiki/p/2"})
        queues = Queues(_url(redis_conn), sync_queue=name)
        listed = queues.jobs(name)
        minutes = next(j for j in listed if j.description == "minutes of the board call")
        assert minutes.progress == {"stage": "summarising", "fraction": 0.75} and minutes.link == "http://wiki/p/2"
        listed = [j for j in listed if j is not minutes]
        assert [(j.description, j.state) for j in listed] == [("minutes of the TOC call", "queued"),
                                                             ("a job that fails", "failed")]
        assert listed[0].progress == {"stage": "transcribing", "fraction": 0.4} and listed[0].link == "http://wiki/p/1"
        assert "JSONDecodeError" in listed[1].reason and "Traceback" not in listed[1].reason

        # a space's sync job: one at a time, whatever is clicked
        first = queues.start_sync("TOC", full=False)
        assert first.state == "queued" and first.description == "incremental sync of TOC"
        with pytest.raises(SyncAlreadyQueued, match="already queued"):
            queues.start_sync("TOC", full=True)
        assert queues.sync_jobs(["TOC", "MEET"])["MEET"] is None
        assert queues.sync_job_id("~alice") != queues.sync_job_id("_alice")  # personal keys stay apart
    finally:
        from rq.job import Job

        ids = queue.get_job_ids() + queue.failed_job_registry.get_job_ids() + queue.finished_job_registry.get_job_ids()
        for job in Job.fetch_many(ids, connection=redis_conn):
            if job is not None:
                job.delete()
        queue.delete(delete_jobs=True)


def _url(conn) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def test_a_sync_job_that_fails_shows_its_reason_on_the_sync_page(web_settings: Settings, es: Elasticsearch,
                                                                 redis_conn, monkeypatch) -> None:
    import uuid

    from rq import Queue, SimpleWorker

    from backend.spaces import SpaceConfig, SpaceStore

    name = f"sync-test-{uuid.uuid4().hex[:8]}"
    settings = replace(web_settings, web=replace(web_settings.web, sync_queue=name))
    for var, value in (("LORE_ES_INDEX", settings.es.index), ("LORE_ES_CONFIG_INDEX", settings.es.config_index)):
        monkeypatch.setenv(var, value)  # the job is an entry point: it reads its settings from the environment
    store = SpaceStore(es, settings.es)
    store.add_space(SpaceConfig("OFF"))
    client = client_for(settings, es)
    sign_in(client)
    token = csrf(client, "/admin/sync")
    assert client.post("/admin/sync/OFF", data={"csrf_token": token}).status_code == 302
    store.add_space(SpaceConfig("OFF", enabled=False))  # disabled by another admin before a worker got to it
    queue = Queue(name, connection=redis_conn)
    try:
        SimpleWorker([queue], connection=redis_conn).work(burst=True)
        page = client.get("/admin/sync").text
        assert "Failed" in page and "Job failed: Space OFF is disabled: enable it before syncing it." in page
        # and a disabled space cannot be queued from the page at all
        client.post("/admin/sync/OFF", data={"csrf_token": token})
        assert "Space OFF is not indexed (it is disabled)" in client.get("/admin/sync").text
    finally:
        from rq.job import Job

        ids = queue.get_job_ids() + queue.failed_job_registry.get_job_ids()
        for job in Job.fetch_many(ids, connection=redis_conn):
            if job is not None:
                job.delete()
        queue.delete(delete_jobs=True)


def test_without_a_slack_bot_token_the_spaces_page_says_slack_is_not_configured(
        web_settings: Settings, es: Elasticsearch) -> None:
    settings = replace(web_settings, slack=replace(web_settings.slack, bot_token=""))
    client = client_for(settings, es)
    sign_in(client)
    page = client.get("/admin/spaces")
    assert page.status_code == 200
    assert "Slack is not configured on this server (no bot token: LORE_SLACK_BOT_TOKEN)" in page.text
    assert "Save spaces" in page.text and "Save channels" not in page.text  # the spaces still work
    assert client.get("/admin/sync").status_code == 200


def test_a_private_channel_cannot_be_made_readable_by_everyone(web_settings: Settings, es: Elasticsearch) -> None:
    from backend.channel_config import ChannelStore
    from tests.standins import slack_app

    state = slack_app.SlackState()
    state.channels.add_channel("C0TOWN", "town-square")
    state.channels.add_channel("C0BOARD", "board", private=True, members=["U0ALICE"])
    with slack_app.serve(state) as server:
        settings = replace(web_settings, slack=replace(web_settings.slack, api_url=server.api_url,
                                                       bot_token=state.bot_token))
        client = client_for(settings, es)
        sign_in(client)
        page = client.get("/admin/spaces").text
        assert "#board" in page and "private: members only" in page and "#town-square" in page
        token = csrf(client, "/admin/spaces")

        resp = client.post("/admin/channels", data={"csrf_token": token, "channel": ["C0TOWN", "C0BOARD"],
                                                     "public": ["C0TOWN", "C0BOARD"]}, follow_redirects=True)
        assert ("Nothing was saved: #board is a private channel (or not in Slack&#39;s list), so only members may "
                "read it.") in resp.text
        store = ChannelStore(es, settings.es)
        assert store.list_spaces() == []

        resp = client.post("/admin/channels", data={"csrf_token": token, "channel": ["C0TOWN", "C0BOARD"],
                                                    "public": ["C0TOWN"], "channel-name-C0TOWN": "town-square"},
                           follow_redirects=True)
        assert "Saved: 2 Slack channels indexed." in resp.text
        saved = {c.channel: c.public for c in store.list_spaces()}
        assert saved == {"C0TOWN": True, "C0BOARD": False}
        assert "#town-square" in resp.text and "everyone (a public channel)" in resp.text  # on the sync page


def test_repeated_wrong_admin_tokens_from_one_address_are_refused_for_a_while(web_settings: Settings,
                                                                               es: Elasticsearch) -> None:
    import time

    lockout_s = 3
    settings = replace(web_settings, web=replace(web_settings.web, sign_in_attempts=3,
                                                 sign_in_lockout_minutes=lockout_s / 60))
    app = create_app(settings, services=Services(settings, es=es))
    guesser, admin = app.test_client(), app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    admin.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    for _ in range(3):
        resp = sign_in(guesser, token="a-guess")
        assert resp.status_code == 401 and "That admin token is not right" in resp.text
    resp = sign_in(guesser)  # now even the right token is refused from that address
    assert resp.status_code == 429
    assert "Too many wrong admin tokens from this computer. Wait 1 minute and try again." in resp.text
    assert 0 < int(resp.headers["Retry-After"]) <= lockout_s
    assert guesser.get("/admin/sync").status_code == 302  # not signed in
    assert sign_in(admin).status_code == 302  # another address signs in as usual
    time.sleep(lockout_s + 0.2)
    assert sign_in(guesser).status_code == 302  # the window has passed
