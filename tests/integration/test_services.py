"""The three local services Lore needs answer as the product will use them.

A down service fails these tests with its URL and the command that starts it (never a skip), so a
broken environment is told apart from broken code at a glance.
"""

from __future__ import annotations

import uuid

import pytest
import redis
import requests
from elasticsearch import Elasticsearch

from backend.settings import Settings

pytestmark = pytest.mark.integration

LLM_START = "Start it with `bash infra/local/llm.sh start` (or run `bash infra/local/test.sh`)."
# the first request after a start may wait for the model to load; a 0.5B model answers well within this
LLM_TIMEOUT_S = 120


def test_elasticsearch_cluster_is_usable(es: Elasticsearch) -> None:
    health = es.cluster.health()
    assert health["status"] in ("green", "yellow"), f"cluster health is {health['status']}"


def test_redis_stores_and_returns_a_value(redis_conn: redis.Redis) -> None:
    assert redis_conn.ping() is True
    key = f"lore-test:{uuid.uuid4().hex}"
    redis_conn.set(key, "ready", ex=60)  # expires by itself should the test die before the delete
    try:
        assert redis_conn.get(key) == b"ready"
    finally:
        redis_conn.delete(key)


def test_llm_server_answers_a_chat_completion(settings: Settings) -> None:
    url = f"{settings.llm.url.rstrip('/')}/v1/chat/completions"
    body = {
        "model": settings.llm.model,
        "messages": [
            {"role": "system", "content": "You answer in one short sentence."},
            {"role": "user", "content": "What colour is a clear daytime sky?"},
        ],
        "max_tokens": 24,  # a few words prove the round trip; more only costs CPU time
        "temperature": 0,
    }
    try:
        response = requests.post(url, json=body, timeout=LLM_TIMEOUT_S)
    except requests.RequestException as exc:
        message = f"The LLM server at {settings.llm.url} does not answer ({exc}). {LLM_START}"
        raise pytest.fail.Exception(message, pytrace=False) from None  # the message, not urllib3's chain
    assert response.status_code == 200, f"{url} answered {response.status_code}: {response.text[:300]}"
    choice = response.json()["choices"][0]
    text = choice["message"]["content"]
    assert isinstance(text, str) and text.strip(), f"the model returned no text: {choice}"
    assert choice["finish_reason"] in ("stop", "length")
