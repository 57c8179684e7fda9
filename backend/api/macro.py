"""What both Confluence macros share: the answer jobs, a space-scoped answerer, and recording answers for feedback.

Built once per app on first use (`runtime()`), from the same `Services` the rest of the API uses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from flask import current_app

from backend.askjobs import AnswerJobs, spaces_filter
from backend.errors import BadRequest

log = logging.getLogger(__name__)

MAX_SPACES = 10  # a macro filters to its page's space or a few; more is no filter
SPACE_KEY_CHARS = 255  # Confluence's limit on a space key
_LOCK = threading.Lock()


class ScopedSearcher:
    """A Searcher whose every search also keeps to the given spaces (the macro's default space filter)."""

    def __init__(self, inner, spaces: Sequence[str]):
        self.inner = inner
        self.embedder = inner.embedder
        self._filters = spaces_filter(spaces)

    def search(self, query, identities, k=None, mode="hybrid", filters=()):
        return self.inner.search(query, identities, k=k, mode=mode, filters=[*filters, *self._filters])


@dataclass
class MacroRuntime:
    services: object
    jobs: AnswerJobs

    def start_answer(self, owner: str, question: str, identities: list[str], spaces: list[str], *,
                     user: str, channel: str, surface: str) -> str:
        """Check the question now (a 400 at once), answer it in a job, record it for feedback when done."""
        from backend.answers import Answerer

        svc = self.services
        answerer = svc.answerer
        if spaces:
            answerer = Answerer(svc.settings, ScopedSearcher(svc.searcher, spaces), svc.llm)
        question, _ = answerer.check_question(question)

        def run() -> dict:
            return answerer.ask(question, identities).to_dict()

        def record(job_id: str, answer: dict) -> None:
            from backend.answers.types import Answer, Source

            sources = [Source(**s) for s in answer.get("sources", [])]
            kept = Answer(answer.get("text") or "", sources=sources, status=answer.get("status", ""))
            svc.feedback.record_answer(job_id, question, kept, user=user, channel=channel, surface=surface)

        return self.jobs.submit(owner, run, on_done=record)


def runtime() -> MacroRuntime:
    app = current_app
    with _LOCK:
        rt = app.extensions.get("lore_macro")
        if rt is None:
            svc = app.extensions["lore"]
            conn = redis.Redis.from_url(svc.settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
            rt = app.extensions["lore_macro"] = MacroRuntime(svc, AnswerJobs(conn, svc.settings.macro))
        return rt


def parse_spaces(value) -> list[str]:
    """`"KEY"`, `"A,B"` or `["A", "B"]` -> space keys; anything else is a 400 that says what to send."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > MAX_SPACES:
        raise BadRequest(f'"space" must be a space key or a list of at most {MAX_SPACES} keys.')
    keys = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > SPACE_KEY_CHARS:
            raise BadRequest('"space" must hold Confluence space keys such as "TOC".')
        keys.append(item.strip())
    return keys
