"""Retrieval-augmented answers: question -> the asker's visible passages -> the model -> checked, cited text.

`Answerer.ask_stream` yields events (notice, sources, token, done); `ask` collects them into an `Answer`.
Whatever the model does (down, slow, refuses, rambles), the asker gets the best pages and a clear notice;
only a failure of the search itself (Elasticsearch down) is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict

from backend.answers import evidence, postcheck
from backend.answers.context import Context, assemble
from backend.answers.focus import assemble_focused
from backend.answers.types import ANSWERED, NOT_FOUND, SOURCES_ONLY, Answer, Citation, Source
from backend.errors import BadRequest, ConfigError, LoreError, ServiceUnavailable
from backend.llm import ContextTooLong, Deadline, Incomplete, LLMClient, NoOutput, estimate_tokens
from backend.prompts import NOT_FOUND as NOT_FOUND_TEXT
from backend.prompts import SYSTEM, Prompt, answer_messages, brief_history, rewrite_messages
from backend.search import Hit, Searcher, fuse_legs
from backend.settings import AnswerSettings, Settings

log = logging.getLogger(__name__)

UNAVAILABLE = "The answer service is unavailable right now; here are the most relevant pages."
TOO_SLOW = "The answer took too long to write; here are the most relevant pages."
UNUSABLE = "The model's answer was unusable; here are the most relevant pages."
WITHHELD = ("The answer was withheld because a page in the results contains instructions aimed at the "
            "assistant; here are the most relevant pages.")
UNCITED = "This answer cites none of the pages: check it against the sources below."
UNVERIFIED = "Some figures in this answer ({}) are not in the pages it cites: check them against the sources."
CUT_SHORT = "The answer service stopped in the middle of this answer; check the sources below for the rest."
NOTHING_RELEVANT = "Nothing in the pages you can access looks relevant to this question."
NOT_MENTIONED = "None of the pages you can access mention {}, so they cannot answer this; the closest pages are below."


class Answerer:
    def __init__(self, settings: Settings, searcher: Searcher, llm: LLMClient | None,
                 options: AnswerSettings | None = None):
        self.settings = settings
        self.searcher = searcher
        self.llm = llm
        self.options = options or settings.answer
        if self.options.context not in ("focus", "passages"):
            raise ConfigError(f"LORE_ANSWER_CONTEXT={self.options.context!r}: use focus or passages.")

    # ---- public -------------------------------------------------------------------------------

    def check_question(self, question: str) -> tuple[str, str | None]:
        """The question to use and a notice if it was cut; BadRequest when there is nothing to ask."""
        q = " ".join(str(question or "").split())  # newlines and control characters mean nothing to search
        if not q:
            raise BadRequest("The question is empty: ask a question about your team's pages, for example "
                             "\"Who maintains the release process?\"")
        limit = self.options.max_question_chars
        if len(q) <= limit:
            return q, None
        cut = q[:limit].rsplit(" ", 1)[0] or q[:limit]
        return cut, (f"Your question was {len(q):,} characters long; only its first {len(cut):,} characters were "
                     "used. Ask a shorter, more specific question for a better answer.")

    def ask(self, question: str, identities: Sequence[str], history: list[dict] | None = None) -> Answer:
        for kind, payload in self._run(question, identities, history or []):
            if kind == "done":
                return payload
        raise AssertionError("the answer pipeline ended without a result")  # _run always ends with done

    def ask_stream(self, question: str, identities: Sequence[str],
                   history: list[dict] | None = None) -> Iterator[dict]:
        """Events: notice {message}, sources {sources}, token {text}, done {answer}, or error {error}.

        Streamed tokens are the model's raw text; the `done` answer is the checked one (invalid citations
        removed, not-found detected, or no text at all when the model failed): clients show it in the end.
        When a source tried to instruct the model, nothing is streamed: the checked answer comes in `done` alone.
        """
        try:
            for kind, payload in self._run(question, identities, history or []):
                if kind == "notice":
                    yield {"event": "notice", "message": payload}
                elif kind == "sources":
                    yield {"event": "sources", "sources": [asdict(s) for s in payload]}
                elif kind == "token":
                    yield {"event": "token", "text": payload}
                else:
                    yield {"event": "done", "answer": payload.to_dict()}
        except LoreError as exc:
            yield {"event": "error", "error": exc.to_dict()}

    # ---- the pipeline -------------------------------------------------------------------------

    def _run(self, question: str, identities: Sequence[str], history: list[dict]) -> Iterator[tuple[str, object]]:
        started = time.perf_counter()
        question, notice = self.check_question(question)
        if notice:
            yield "notice", notice
        deadline = Deadline(self.settings.llm.timeout)
        llm_down: LoreError | None = None
        query = question
        if history:
            query, llm_down = self._standalone(question, history, deadline)
        t = time.perf_counter()
        hits, confident = self._retrieve(query, identities)
        timings = {"retrieval_ms": _ms(t), "first_token_ms": None, "total_ms": 0.0}

        def finish(answer: Answer) -> tuple[str, Answer]:
            answer.query = query
            answer.notice = " ".join(n for n in (notice, answer.notice) if n) or None
            timings["total_ms"] = _ms(started)
            answer.timings = timings
            log.info("answered", extra={"status": answer.status, "sources": len(answer.sources),
                                        "citations": len(answer.citations), **timings})
            return "done", answer

        if not confident:
            yield "sources", []
            yield finish(Answer(NOT_FOUND_TEXT, not_found=True, status=NOT_FOUND, notice=NOTHING_RELEVANT))
            return
        max_tokens = self.options.max_tokens or self.settings.llm.max_tokens
        ctx = self._context(hits, question, history, max_tokens)
        yield "sources", ctx.sources
        missing = self._missing(question, identities, hits)
        if missing:
            named = ", ".join(f"\u201c{m}\u201d" for m in missing)
            yield finish(Answer(NOT_FOUND_TEXT, sources=ctx.sources, not_found=True, status=NOT_FOUND,
                                notice=NOT_MENTIONED.format(named)))
            return
        if self.llm is None or llm_down is not None:
            yield finish(_sources_only(ctx, UNAVAILABLE))
            return

        parts: list[str] = []
        cut_short = False
        for attempt in range(2):
            prompt = answer_messages(question, ctx.prompt_sources, history)
            messages = prompt.messages
            # sources that addressed the model (redacted payloads) are answered whole: the post-check must read
            # the answer before any of it reaches the asker, or a hijacked model's text would show until `done`
            stream = not prompt.payloads
            log.debug("answer prompt", extra={"messages": messages})
            try:
                for delta in self.llm.stream(messages, max_tokens=max_tokens, seed=self.options.seed,
                                             deadline=deadline):
                    if timings["first_token_ms"] is None:
                        timings["first_token_ms"] = _ms(started)
                    parts.append(delta)
                    if stream:
                        yield "token", delta
                break
            except Incomplete:
                cut_short = True  # keep what came: it is checked like any answer, with a notice
                break
            except (ContextTooLong, NoOutput) as exc:
                if parts or attempt:
                    yield finish(_sources_only(ctx, UNUSABLE, messages))
                    return
                # the estimate undershot (dense markup, other scripts), or llama_cpp.server dropped the
                # request for another one: try once more, with half the sources budget
                log.warning("no answer from the model; retrying once with less context", extra={"error": str(exc)})
                ctx = self._context(hits, question, history, max_tokens, shrink=0.5)
            except LoreError as exc:
                log.warning("LLM failed; answering with sources only", extra={"error": str(exc), "code": exc.code})
                text = TOO_SLOW if exc.code == "llm_timeout" else UNAVAILABLE
                yield finish(_sources_only(ctx, text, messages))
                return
        answer = self._checked("".join(parts), ctx, question, prompt)
        if cut_short and answer.status == ANSWERED:
            answer.notice = CUT_SHORT
        yield finish(answer)

    def _checked(self, raw: str, ctx: Context, question: str, prompt: Prompt) -> Answer:
        messages = prompt.messages
        # payloads of every redacted sentence in the prompt: passages, titles, headings, earlier turns
        res = postcheck.check(raw, len(ctx.sources), prompt.payloads, question, prompt.source_texts)
        if res.dropped:
            log.info("dropped citations outside 1..%d: %s", len(ctx.sources), res.dropped)
        if res.verdict == postcheck.GARBAGE:
            log.warning("the model's answer was unusable (empty, looping or echoing the prompt): %r", raw[:300])
            return _sources_only(ctx, UNUSABLE, messages)
        if res.verdict == postcheck.HIJACKED:
            log.warning("answer repeated a prompt-injection payload from a source; withheld")
            return _sources_only(ctx, WITHHELD, messages)
        if res.verdict == postcheck.DECLINED:
            return Answer(NOT_FOUND_TEXT, sources=ctx.sources, not_found=True, status=NOT_FOUND,
                          prompt_messages=messages)
        by_n = {s.n: s for s in ctx.sources}
        citations = [Citation(n, by_n[n].title, by_n[n].url, by_n[n].doc_id, n in res.inferred) for n in res.cited]
        notice = UNVERIFIED.format(", ".join(res.unsupported)) if res.unsupported else None
        if not citations:
            notice = UNCITED
        return Answer(res.text, citations, ctx.sources, notice=notice, status=ANSWERED, prompt_messages=messages)

    # ---- steps --------------------------------------------------------------------------------

    def _standalone(self, question: str, history: list[dict], deadline: Deadline) -> tuple[str, LoreError | None]:
        """A follow-up rewritten as a standalone search query; on any LLM trouble, the last user turn + it."""
        fallback = question
        users = [m for m in brief_history(history) if m["role"] == "user"]
        if users:
            fallback = f"{users[-1]['content']} {question}"[-self.options.max_question_chars:]
        if self.llm is None:
            return fallback, None
        try:
            text = self.llm.chat(rewrite_messages(question, history), max_tokens=self.options.rewrite_max_tokens,
                                 temperature=0.0, seed=self.options.seed, deadline=deadline)
        except ServiceUnavailable as exc:
            return fallback, exc  # down: do not wait for it a second time for the answer
        except LoreError as exc:
            log.info("follow-up rewrite failed; using the last question with this one", extra={"error": str(exc)})
            return fallback, None
        line = text.strip().splitlines()[0].strip().strip('"\'') if text.strip() else ""
        if len(line) < 3 or len(line) > self.options.max_question_chars:
            return fallback, None
        return merge_rewrite(line, question, fallback), None

    def _retrieve(self, query: str, identities: Sequence[str]) -> tuple[list[Hit], bool]:
        """Fused hits of both legs and whether they look relevant at all (see `confident`)."""
        legs = ["bm25", "dense"] if self.searcher.embedder is not None else ["bm25"]
        results = {m: self.searcher.search(query, identities, mode=m).hits for m in legs}
        top_bm25 = results["bm25"][0].score if results["bm25"] else 0.0
        dense = results.get("dense") or []
        # dot_product on unit vectors: Elasticsearch scores (1 + cosine) / 2
        top_cos = 2.0 * dense[0].score - 1.0 if dense else None
        hits = fuse_legs(results, self.settings.search)[: self.options.candidates]
        ok = confident(top_bm25, top_cos, self.options)
        log.debug("retrieval", extra={"hits": len(hits), "top_bm25": top_bm25, "top_cos": top_cos, "confident": ok})
        return hits, ok

    def _context(self, hits: list[Hit], question: str, history: list[dict], max_tokens: int,
                 shrink: float = 1.0) -> Context:
        window = self.llm.prompt_budget(max_tokens) if self.llm else 4096 - max_tokens
        fixed = sum(estimate_tokens(m["content"]) for m in brief_history(history))
        fixed += estimate_tokens(SYSTEM) + estimate_tokens(question) + 80  # 80: the instruction line before it
        fixed += self.options.prompt_overhead_tokens
        budget = int(max(window - fixed, 0) * shrink)
        if self.options.context == "focus":
            return assemble_focused(hits, question, min(budget, self.options.focus_tokens), self.options.max_sources)
        return assemble(hits, budget, self.options.max_sources, self.options.max_passages_per_source)

    def _missing(self, question: str, identities: Sequence[str], hits: list[Hit]) -> list[str]:
        """What the question names that the asker's pages lack (evidence.py); empty when the check is off."""
        if not self.options.check_evidence:
            return []
        missing = evidence.missing_figures(question, hits)
        return missing or evidence.unknown_words(self.searcher, question, identities,
                                                 self.options.evidence_min_chunks)


def merge_rewrite(rewrite: str, question: str, fallback: str) -> str:
    """Guard against weak rewrites. A small model often echoes the follow-up ("When was that?": nothing
    resolved) or returns the earlier topic without what is now asked ("IBM/DAH code base" for "who would
    be its maintainers?"). Echo -> the fallback (last user turn + follow-up); topic only -> both together."""
    asked, got = postcheck.content_words(question), postcheck.content_words(rewrite)
    if got <= asked:
        return fallback
    if asked and len(asked & got) / len(asked) < 0.5:
        return f"{rewrite} {question}"
    return rewrite


def confident(top_bm25: float, top_cos: float | None, options: AnswerSettings) -> bool:
    """Is anything retrieved worth showing the model?

    No hit in either leg: no. With the dense leg, the best hit's cosine similarity must reach
    `min_similarity` (`min_similarity_no_keywords` when BM25 matched nothing): BM25 nearly always finds
    *some* shared word, so its score alone cannot tell "about this" from "mentions a word of it", while an
    unrelated question's nearest chunk stays far away in embedding space. Without the dense leg (no
    embedder) any BM25 hit counts. Past this gate, the model's not-found sentence handles near misses.
    """
    if top_cos is None:
        return top_bm25 > 0
    if top_bm25 <= 0:
        return top_cos >= options.min_similarity_no_keywords
    return top_cos >= options.min_similarity


def _sources_only(ctx: Context, notice: str, messages: list[dict] | None = None) -> Answer:
    return Answer("", sources=ctx.sources, notice=notice, status=SOURCES_ONLY, prompt_messages=messages or [])


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


__all__ = ["Answerer", "Answer", "Citation", "Source", "confident"]
