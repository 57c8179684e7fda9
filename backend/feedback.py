"""What askers thought of Lore's answers: each answer given on a surface (Slack) and each vote on it, in the
small index `settings.es.feedback_index` (created on first use), so admins can see the helpful rate.

    answer   id <answer_id>          question, answer text, status, sources, asker, channel, time, surface
    vote     id <answer_id>:<user>   vote (helpful | not_helpful), optional comment, voter, channel, time

The vote's id makes one vote per user and answer: a second click replaces the first. A vote on an answer
that was never recorded is refused (`record_vote` returns False), so nobody can fill the index with votes
on made-up answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from elasticsearch import Elasticsearch, NotFoundError

from backend.errors import BadRequest
from backend.es import ensure_small_index, translated
from backend.settings import ElasticSettings

if TYPE_CHECKING:  # the answer pipeline (search, LLM client) is not needed to store or list feedback
    from backend.answers import Answer

VOTES = ("helpful", "not_helpful")
ANSWER_ID = re.compile(r"^[0-9a-f]{8,32}$")  # what the bot mints (uuid4 hex): nothing else becomes a doc id
USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,100}$")  # Slack ids (U0ABC, W0ABC) and emails
MAX_COMMENT_CHARS = 2000  # a comment is a sentence or two; longer text is cut, not refused
MAX_TEXT_CHARS = 20_000  # answers are a few kB; this bounds what one record can weigh
MAX_PAGE = 100  # votes per page of `GET /api/admin/feedback`
MAX_WINDOW = 10_000  # Elasticsearch's index.max_result_window: from + size beyond it is refused
DEFAULT_PAGE = 20

_KEYWORD = {"type": "keyword"}
_STORED = {"type": "keyword", "index": False, "doc_values": False}  # shown, never searched
_MAPPING = {
    "dynamic": "strict",  # a typo in a field name fails loudly instead of growing the mapping
    "properties": {
        "kind": _KEYWORD, "answer_id": _KEYWORD, "time": {"type": "date"}, "surface": _KEYWORD,
        "user": _KEYWORD, "channel": _KEYWORD, "vote": _KEYWORD, "status": _KEYWORD,
        "question": {"type": "text", "index": False}, "answer": {"type": "text", "index": False},
        "comment": {"type": "text", "index": False},
        "sources": {"type": "object", "enabled": False},  # [{n, title, url, doc_id}]: kept as given
    },
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class FeedbackQuery:
    """One page of votes, newest first, optionally only those cast since `since` (ISO 8601)."""

    size: int = DEFAULT_PAGE
    offset: int = 0
    since: str | None = None

    @classmethod
    def parse(cls, args: dict) -> FeedbackQuery:
        """From query arguments (`size`, `from`, `since`), with messages that name the argument."""
        size = _int(args.get("size"), "size", DEFAULT_PAGE)
        offset = _int(args.get("from"), "from", 0)
        if not 1 <= size <= MAX_PAGE:
            raise BadRequest(f"'size' must be between 1 and {MAX_PAGE}, not {size}.")
        if offset < 0 or offset + size > MAX_WINDOW:
            raise BadRequest(f"'from' must be 0 or more, with from + size at most {MAX_WINDOW}; narrow the window "
                             "with 'since' instead of paging further.")
        since = args.get("since") or None
        if since is not None:
            try:
                parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise BadRequest(f"'since' must be an ISO 8601 time such as 2026-11-01T00:00:00Z, not "
                                 f"{since!r}.") from None
            since = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
        return cls(size, offset, since)


def _int(raw, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"'{name}' must be a whole number, not {raw!r}.") from None


class FeedbackStore:
    def __init__(self, es: Elasticsearch, settings: ElasticSettings):
        self.es = es
        self.index = settings.feedback_index
        self._ready = False

    def ensure(self) -> None:
        if self._ready:
            return
        ensure_small_index(self.es, self.index, _MAPPING, "feedback index")
        self._ready = True

    def record_answer(self, answer_id: str, question: str, answer: Answer, *, user: str, channel: str,
                      surface: str) -> None:
        """Remember an answer someone may vote on (read back by id, so no refresh is needed)."""
        if not ANSWER_ID.match(answer_id):
            raise BadRequest(f"Answer id {answer_id!r} is not one Lore mints.")
        sources = [{"n": s.n, "title": s.title, "url": s.url, "doc_id": s.doc_id} for s in answer.sources]
        doc = {"kind": "answer", "answer_id": answer_id, "time": now_iso(), "surface": surface, "user": user,
               "channel": channel, "status": answer.status, "question": question[:MAX_TEXT_CHARS],
               "answer": (answer.text or "")[:MAX_TEXT_CHARS], "sources": sources}
        self.ensure()
        with translated(self.es, f"recording answer {answer_id}"):
            self.es.index(index=self.index, id=answer_id, document=doc)

    def record_vote(self, answer_id: str, user: str, vote: str, *, channel: str = "",
                    comment: str | None = None) -> bool:
        """Store `user`'s vote on a recorded answer, replacing any earlier one; False when no such answer."""
        if vote not in VOTES:
            raise BadRequest(f"A vote is one of {', '.join(VOTES)}, not {vote!r}.")
        if not USER_ID.match(user or ""):
            raise BadRequest("A vote needs the id of the user who cast it.")
        if not isinstance(answer_id, str) or not ANSWER_ID.match(answer_id) or self._answer(answer_id) is None:
            return False
        doc = {"kind": "vote", "answer_id": answer_id, "user": user, "channel": channel, "vote": vote,
               "time": now_iso()}
        if comment and comment.strip():
            doc["comment"] = comment.strip()[:MAX_COMMENT_CHARS]
        with translated(self.es, f"recording a vote on answer {answer_id}"):
            # refresh: the admin list shows a click at once; votes are rare, the index is small
            self.es.index(index=self.index, id=f"{answer_id}:{user}", document=doc, refresh=True)
        return True

    def report(self, query: FeedbackQuery = FeedbackQuery()) -> dict:
        """Votes joined with their answers (newest first, one page) plus counts and the helpful rate."""
        self.ensure()
        filters = [{"term": {"kind": "vote"}}]
        if query.since:
            filters.append({"range": {"time": {"gte": query.since}}})
        with translated(self.es, f"listing feedback in {self.index}"):
            found = self.es.search(index=self.index, query={"bool": {"filter": filters}}, size=query.size,
                                   from_=query.offset, sort=[{"time": "desc"}, {"answer_id": "asc"}],
                                   aggs={"votes": {"terms": {"field": "vote", "size": len(VOTES)}}},
                                   track_total_hits=True)
        votes = [h["_source"] for h in found["hits"]["hits"]]
        answers = self._answers({v["answer_id"] for v in votes})
        counts = {v: 0 for v in VOTES}
        for bucket in found["aggregations"]["votes"]["buckets"]:
            counts[bucket["key"]] = bucket["doc_count"]
        total = sum(counts.values())
        return {"total": total, **counts, "helpful_rate": round(counts["helpful"] / total, 4) if total else None,
                "since": query.since, "from": query.offset, "size": query.size,
                "feedback": [_joined(v, answers.get(v["answer_id"])) for v in votes]}

    def daily(self, days: int = 30) -> list[dict]:
        """Votes per UTC day over the last `days` days, oldest first: {day, helpful, not_helpful} (the chart)."""
        self.ensure()
        hist = {"date_histogram": {"field": "time", "calendar_interval": "day", "min_doc_count": 0,
                                   "extended_bounds": {"min": f"now-{days - 1}d/d", "max": "now/d"}},
                "aggs": {"votes": {"terms": {"field": "vote", "size": len(VOTES)}}}}
        query = {"bool": {"filter": [{"term": {"kind": "vote"}}, {"range": {"time": {"gte": f"now-{days - 1}d/d"}}}]}}
        with translated(self.es, f"counting votes per day in {self.index}"):
            found = self.es.search(index=self.index, query=query, size=0, aggs={"days": hist})
        out = []
        for bucket in found["aggregations"]["days"]["buckets"]:
            counts = {v: 0 for v in VOTES} | {b["key"]: b["doc_count"] for b in bucket["votes"]["buckets"]}
            out.append({"day": bucket["key_as_string"][:10], **counts})
        return out

    def worst(self, size: int = 5) -> list[dict]:
        """The answers with the most not-helpful votes (ties: fewer helpful first), each with its sources."""
        self.ensure()
        bad = {"filter": {"term": {"vote": "not_helpful"}}}
        good = {"filter": {"term": {"vote": "helpful"}}}
        terms = {"terms": {"field": "answer_id", "size": size, "order": [{"bad": "desc"}, {"good": "asc"}]},
                 "aggs": {"bad": bad, "good": good}}
        with translated(self.es, f"finding the worst-rated answers in {self.index}"):
            found = self.es.search(index=self.index, query={"term": {"kind": "vote"}}, size=0,
                                   aggs={"answers": terms})
        buckets = [b for b in found["aggregations"]["answers"]["buckets"] if b["bad"]["doc_count"]]
        answers = self._answers({b["key"] for b in buckets})
        rows = []
        for b in buckets:
            answer = answers.get(b["key"]) or {}
            rows.append({"answer_id": b["key"], "not_helpful": b["bad"]["doc_count"],
                         "helpful": b["good"]["doc_count"],
                         "question": answer.get("question"), "answer": answer.get("answer"),
                         "sources": answer.get("sources", []), "surface": answer.get("surface"),
                         "asked_at": answer.get("time")})
        return rows

    def _answer(self, answer_id: str) -> dict | None:
        self.ensure()
        with translated(self.es, f"reading answer {answer_id}"):
            try:
                return self.es.get(index=self.index, id=answer_id)["_source"]
            except NotFoundError:
                return None

    def _answers(self, ids: set[str]) -> dict[str, dict]:
        if not ids:
            return {}
        with translated(self.es, "reading the answers voted on"):
            docs = self.es.mget(index=self.index, ids=sorted(ids))["docs"]
        return {d["_id"]: d["_source"] for d in docs if d.get("found")}


def _joined(vote: dict, answer: dict | None) -> dict:
    answer = answer or {}
    return {"answer_id": vote["answer_id"], "vote": vote["vote"], "comment": vote.get("comment"),
            "user": vote["user"], "channel": vote.get("channel", ""), "time": vote["time"],
            "question": answer.get("question"), "answer": answer.get("answer"), "status": answer.get("status"),
            "sources": answer.get("sources", []), "asked_by": answer.get("user"),
            "asked_in": answer.get("channel"), "asked_at": answer.get("time"), "surface": answer.get("surface")}
