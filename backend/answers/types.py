"""The records an answer is made of, and the options that shape it (each default with its reason)."""

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


@dataclass(frozen=True)
class AnswerOptions:
    """How answers are built. Mirrors the `answer` section the settings will carry (LORE_ANSWER_*)."""

    # Retrieval gate (pipeline.confident): below this cosine similarity of the best dense hit the model is
    # not asked. Measured with all-MiniLM-L6-v2 on 150 Hyperledger wiki pages: answerable questions'
    # best hit 0.32-0.78, off-topic questions (VPN, lasagna, World Cup) 0.12-0.27, a few office
    # questions 0.36-0.42 (those reach the model, which declines). 0.28 keeps every answerable one.
    min_similarity: float = 0.28
    # ... and when BM25 finds no shared word at all ("asdf qwerty": 0.34), the dense hit must be this close
    min_similarity_no_keywords: float = 0.45
    max_sources: int = 5  # pages given to the model; more dilutes a small model's attention
    max_passages_per_source: int = 3  # passages (chunks) per page
    candidates: int = 30  # chunk hits per search leg considered for the context
    max_question_chars: int = 2000  # longer questions are cut (with a notice) for retrieval and prompt
    max_tokens: int = 0  # answer tokens; 0: LLMSettings.max_tokens
    rewrite_max_tokens: int = 48  # a standalone search query is one short line
    prompt_overhead_tokens: int = 64  # chat-template tokens around each message that the estimate misses
    seed: int = 42  # fixed seed: the same question on the same pages gives the same answer

    def to_dict(self) -> dict:
        return asdict(self)
