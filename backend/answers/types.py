"""The records an answer is made of (how it is built: `backend.settings.AnswerSettings`, LORE_ANSWER_*)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ANSWERED = "answered"
NOT_FOUND = "not_found"
SOURCES_ONLY = "sources_only"  # the model was down, too slow or unusable: the best pages, no generated text


@dataclass
class Source:
    """A numbered page given to the model: [n] in the answer text refers to it."""

    n: int
    title: str
    url: str
    doc_id: str
    snippet: str  # HTML-escaped, <mark> around matched words (from the search highlight)


@dataclass
class Citation:
    n: int
    title: str
    url: str
    doc_id: str
    inferred: bool = False  # added by Lore from word overlap, not written by the model (postcheck.attribute)


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    not_found: bool = False
    notice: str | None = None  # something the asker should know: question cut, model unavailable, ...
    status: str = ANSWERED  # answered | not_found | sources_only
    # retrieval_ms; first_token_ms and total_ms from the start of the request (first_token_ms None: no model)
    timings: dict = field(default_factory=dict)
    query: str = ""  # what was searched (the rewritten follow-up, the cut question)
    # the exact messages sent to the model: for tests and DEBUG logs only, never in API responses
    prompt_messages: list[dict] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("prompt_messages")
        return out
