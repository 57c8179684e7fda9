"""Fixtures for tests on the real index: one embedding model per session, a throw-away alias per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from elasticsearch import Elasticsearch

from backend.embeddings import Embedder
from backend.indexer import Indexer
from backend.search import Searcher
from backend.settings import Settings
from tests.integration.slack_bot import confluence_directory
from tests.standins import confluence_app, slack_app


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return Embedder(settings.embed, settings.cache_dir)


@pytest.fixture
def isolated_settings(settings: Settings, es: Elasticsearch) -> Iterator[Settings]:
    """Settings whose chunk alias and config index are unique to this test; both deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    s = replace(settings, es=replace(settings.es, index=f"lore-test-{tag}", config_index=f"lore-test-config-{tag}"))
    yield s
    for pattern in (f"lore-test-{tag}*", f"lore-test-config-{tag}*"):
        for name in es.indices.get(index=pattern, expand_wildcards="all"):
            es.indices.delete(index=name)


@pytest.fixture
def make_indexer(es: Elasticsearch, embedder: Embedder, isolated_settings: Settings
                 ) -> Callable[..., tuple[Indexer, Searcher]]:
    def make(settings: Settings | None = None) -> tuple[Indexer, Searcher]:
        s = settings or isolated_settings
        ix = Indexer(es, s, embedder)
        ix.ensure_index()
        return ix, Searcher(es, s, embedder)

    return make


@pytest.fixture(scope="module")
def directory() -> Iterator[confluence_app.StandinServer]:
    """The Confluence stand-in as the Slack bot's user directory (emails -> accounts and groups)."""
    with confluence_app.serve(confluence_directory()) as server:
        yield server


@pytest.fixture(scope="module")
def slack() -> Iterator[slack_app.StandinServer]:
    """The Slack Web API stand-in: records response_url posts and chat.postMessage calls."""
    state = slack_app.SlackState()
    state.add_general()
    with slack_app.serve(state) as server:
        yield server
