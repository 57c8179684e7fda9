"""Answers with citations: retrieval for the asker's identities, a grounded prompt, a checked reply.

    pipeline.py   Answerer: the steps, graceful degradation, streaming events
    context.py    search hits -> numbered pages with passages, within the token budget
    postcheck.py  the model's text -> valid citations, not-found, garbage, injected payloads
    types.py      Answer, Source, Citation (options: backend.settings.AnswerSettings)
"""

from backend.answers.pipeline import Answerer, confident
from backend.answers.types import ANSWERED, NOT_FOUND, SOURCES_ONLY, Answer, Citation, Source

__all__ = ["ANSWERED", "NOT_FOUND", "SOURCES_ONLY", "Answer", "Answerer", "Citation", "Source",
           "confident"]
