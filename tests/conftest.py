"""Fixtures every test may use: settings from the environment, real service clients, shared data.

`bash infra/local/test.sh` starts Elasticsearch, Redis and the LLM server and exports LORE_*_URL for
them. A fixture whose service is down FAILS with the URL and the command that starts it: no skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis
from elasticsearch import Elasticsearch

from backend.errors import LoreError
from backend.settings import Settings

REPO = Path(__file__).resolve().parents[1]
START_HINT = "Start the local services with `bash infra/local/services.sh start` (or run `bash infra/local/test.sh`)."


def service_down(message: str) -> NoReturn:
    """Fail the test with `message` alone: the library's exception chain would bury it."""
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def settings() -> Settings:
    # dotenv=None: a developer's .env must not point the tests at a real deployment
    return Settings.from_env(dotenv=None)


@pytest.fixture(scope="session")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    """A health-checked client for the Elasticsearch at LORE_ES_URL."""
    try:
        client = _connect_es(settings)
    except LoreError as exc:
        service_down(str(exc))  # backend.es already names the URL and the start command
    yield client
    client.close()


def _connect_es(settings: Settings) -> Elasticsearch:
    try:
        from backend.es import connect
    except ModuleNotFoundError as exc:  # only until backend/es.py is committed; then drop this branch
        if exc.name != "backend.es":
            raise
        client = Elasticsearch(settings.es.url, request_timeout=settings.es.request_timeout)
        try:
            client.cluster.health(timeout="5s")
        except Exception as err:  # whatever the failure, the tests cannot use this server
            service_down(f"Elasticsearch at {settings.es.url} does not answer ({err}). {START_HINT}")
        return client
    return connect(settings.es)


@pytest.fixture(scope="session")
def redis_conn(settings: Settings) -> Iterator[redis.Redis]:
    """A PING-checked connection to the Redis at LORE_REDIS_URL."""
    # 5 s: a local Redis answers in milliseconds; waiting longer only hides a dead one
    conn = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        conn.ping()
    except redis.RedisError as exc:
        service_down(f"Redis at {settings.redis_url} does not answer ({exc}). {START_HINT}")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared test data (never copied into the repo): ../shared/data or LORE_SHARED_DATA."""
    path = Path(os.environ.get("LORE_SHARED_DATA") or REPO.parent / "shared" / "data")
    if not path.is_dir():
        pytest.fail(
            f"Shared test data not found at {path}. Put the project's shared/ folder beside the repository "
            "or set LORE_SHARED_DATA to its data/ folder.",
            pytrace=False,
        )
    return path


@pytest.fixture
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A unique index-name prefix for one test; every index starting with it is deleted afterwards."""
    prefix = f"lore-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    # resolve, then delete by exact names: works even where wildcard deletes are forbidden
    # (action.destructive_requires_name) and also removes aliases that point at these indices
    found = es.indices.resolve_index(name=f"{prefix}*", expand_wildcards="all")
    names = [i["name"] for i in found.get("indices", [])]
    if names:
        es.indices.delete(index=",".join(names))
