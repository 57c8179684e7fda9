"""The long-lived objects a request needs, created once per app on first use and injectable for tests.

Lazy: the app starts (and /healthz answers) even while Elasticsearch or the LLM server is down, and the
embedding model loads only when the first search needs it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

from backend.settings import Settings

log = logging.getLogger(__name__)

IDENTITY_TIMEOUT = 5.0  # seconds per Confluence call while resolving an asker: they are waiting for an answer
IDENTITY_RETRIES = 1  # a sync can wait out a throttled Confluence, a question cannot


class Services:
    """`es`, `embedder`, `searcher`, `llm`, `answerer`, `identity`, `feedback`: each built at first access.

    `Services(settings, llm=my_llm)` injects ready objects; anything not given is built from settings.
    """

    NAMES = ("es", "embedder", "searcher", "llm", "answerer", "identity", "feedback")

    def __init__(self, settings: Settings, **given: Any):
        unknown = set(given) - set(self.NAMES)
        if unknown:
            raise TypeError(f"unknown services: {', '.join(sorted(unknown))}")
        self.settings = settings
        self._built: dict[str, Any] = dict(given)
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        if name not in Services.NAMES:
            raise AttributeError(name)
        with self._lock:
            if name not in self._built:
                self._built[name] = getattr(self, f"_build_{name}")()
            return self._built[name]

    def built(self, name: str) -> bool:
        return name in self._built

    def _build_es(self):
        from backend.es import connect

        return connect(self.settings.es)

    def _build_embedder(self):
        from backend.embeddings import Embedder

        return Embedder(self.settings.embed, self.settings.cache_dir)

    def _build_searcher(self):
        from backend.search import Searcher

        return Searcher(self.es, self.settings, self.embedder)

    def _build_llm(self):
        from backend.llm import LLMClient

        return LLMClient(self.settings.llm)

    def _build_answerer(self):
        from backend.answers import Answerer

        return Answerer(self.settings, self.searcher, self.llm)

    def _build_feedback(self):
        from backend.feedback import FeedbackStore

        return FeedbackStore(self.es, self.settings.es)

    def _build_identity(self):
        from backend.identity import IdentityResolver

        client = None
        if self.settings.confluence.url:
            from backend.confluence.client import ConfluenceClient

            narrow = replace(self.settings.confluence, timeout=IDENTITY_TIMEOUT, max_retries=IDENTITY_RETRIES)
            client = ConfluenceClient(narrow)
        else:
            log.info("no Confluence configured (LORE_CONFLUENCE_URL): every asker sees public pages only")
        from backend.channels import ChannelMembers
        from backend.es import connect

        # readers in an indexed Slack channel's member list (as the last sync read it) get its identity too; no
        # health check here: the app and the bot start while Elasticsearch is down (a failed lookup adds nothing)
        channels = ChannelMembers(connect(self.settings.es, check=False), self.settings.slack_source)
        return IdentityResolver(client, self.settings.api.identity_cache_seconds, channels=channels)
