"""The one Elasticsearch connection: health-checked on connect, client errors translated into Lore's.

The integ-test server lacks `rest-root`, so health is `/_cluster/health`, never `ping()` or `GET /`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from elasticsearch import ApiError, Elasticsearch, TransportError

from backend.errors import LoreError, ServiceUnavailable, redact_url
from backend.settings import ElasticSettings

START_HINT = "Start it with `bash infra/local/elasticsearch.sh start` or set LORE_ES_URL."


def connect(settings: ElasticSettings, check: bool = True) -> Elasticsearch:
    auth: dict = {}
    if settings.api_key:
        auth["api_key"] = settings.api_key
    elif settings.username:
        auth["basic_auth"] = (settings.username, settings.password)
    es = Elasticsearch(settings.url, request_timeout=settings.request_timeout, retry_on_timeout=True, max_retries=2,
                       **auth)
    if check:
        url = redact_url(settings.url)  # credentials in the URL (user:password@) never reach a message
        try:
            health = es.cluster.health(timeout="5s")
        except (TransportError, ApiError) as exc:
            raise ServiceUnavailable("Elasticsearch", url, _short(exc), START_HINT) from exc
        if health.get("status") == "red":
            raise ServiceUnavailable("Elasticsearch", url, "cluster health is red", START_HINT)
    return es


@contextlib.contextmanager
def translated(es: Elasticsearch, what: str) -> Iterator[None]:
    """Turn client exceptions raised inside the block into Lore errors that say what we were doing."""
    url = _url(es)
    try:
        yield
    except TransportError as exc:  # connection refused, timeout
        raise ServiceUnavailable("Elasticsearch", url, f"{what}: {_short(exc)}", START_HINT) from exc
    except ApiError as exc:
        raise LoreError(f"Elasticsearch refused {what}: {_short(exc)}") from exc


def ensure_small_index(es: Elasticsearch, name: str, mappings: dict, what: str) -> None:
    """Create a one-shard, replica-less index (`what`, for messages) unless it exists: the config, lock and
    feedback documents are few, and every process creates it on first use, so losing the race is fine."""
    with translated(es, f"preparing the {what} {name}"):
        if es.indices.exists(index=name):
            return
        try:
            es.indices.create(index=name, mappings=mappings, settings={"number_of_shards": 1, "number_of_replicas": 0})
        except Exception as exc:  # noqa: BLE001 - another process created it between the two calls
            if not es.indices.exists(index=name):
                raise exc


def _url(es: Elasticsearch) -> str:
    try:
        node = es.transport.node_pool.all()[0]
        return redact_url(node.base_url)
    except Exception:  # noqa: BLE001 - only for the message
        return "the configured URL"


def _short(exc: Exception) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        err = info.get("error")
        if isinstance(err, dict):
            return f"{err.get('type')}: {err.get('reason')}"[:300]
    return (getattr(exc, "message", None) or str(exc) or type(exc).__name__)[:300]
