"""Credentials: Elasticsearch's go out as the client's auth header from their own settings; no message, health
detail or log repeats a `user:password@` from a service URL (Elasticsearch, the LLM server, Confluence)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.confluence.client import ConfluenceClient
from backend.errors import ConfigError, ServiceUnavailable, redact_url
from backend.es import connect
from backend.llm import LLMClient
from backend.settings import ConfluenceSettings, ElasticSettings, LLMSettings


class _Recorder(BaseHTTPRequestHandler):
    """Plays a green cluster's `/_cluster/health` and records the Authorization header of every request."""

    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).seen.append(self.headers.get("Authorization"))
        body = json.dumps({"cluster_name": "stand-in", "status": "green"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")  # the client refuses servers without it
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list]]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder.seen
    server.shutdown()
    server.server_close()


def test_username_and_password_go_out_as_basic_auth(recorder) -> None:
    url, seen = recorder
    connect(ElasticSettings(url=url, username="elastic", password="pa:ss word"))
    assert seen == ["Basic " + base64.b64encode(b"elastic:pa:ss word").decode()]


def test_an_api_key_goes_out_as_an_api_key_header(recorder) -> None:
    url, seen = recorder
    connect(ElasticSettings(url=url, api_key="VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="))
    assert seen == ["ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="]


def test_no_credentials_send_no_auth_header(recorder) -> None:
    url, seen = recorder
    connect(ElasticSettings(url=url))
    assert seen == [None]


def test_credentials_in_an_unreachable_url_never_reach_the_message() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        connect(ElasticSettings(url="http://elastic:s3cret-pw@127.0.0.1:1", request_timeout=2))
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in caught.value.url
    assert "http://***@127.0.0.1:1" in str(caught.value)  # still says where it looked


@pytest.mark.parametrize("raw, shown", [
    ("http://u:p@h:9200/x", "http://***@h:9200/x"),
    ("https://token@h", "https://***@h"),
    ("see redis://:pw@r:6379/0 and http://h/a@b", "see redis://***@r:6379/0 and http://h/a@b"),
    ("http://127.0.0.1:9200", "http://127.0.0.1:9200"),
])
def test_redact_url_masks_only_the_userinfo(raw: str, shown: str) -> None:
    assert redact_url(raw) == shown


def test_the_llm_health_detail_masks_credentials_in_its_url() -> None:
    health = LLMClient(LLMSettings(url="http://tgi:s3cret-pw@127.0.0.1:1")).health()
    assert health["ok"] is False and "s3cret-pw" not in health["detail"] and "***@127.0.0.1:1" in health["detail"]


def test_a_confluence_url_with_credentials_is_refused_without_repeating_them() -> None:
    settings = ConfluenceSettings(url="https://bot:s3cret-pw@acme.atlassian.net/wiki", email="e@x", api_token="t")
    with pytest.raises(ConfigError) as caught:
        ConfluenceClient(settings)
    assert "s3cret-pw" not in str(caught.value) and "LORE_CONFLUENCE_API_TOKEN" in str(caught.value)
