"""Hybrid search: BM25 and kNN legs fused in Python (z-scores or RRF), ACL-filtered.

The `rrf` and `linear` retrievers need an Enterprise licence, so fusion happens here. Both legs carry the
same ACL filter (the kNN `filter`, not a post-filter, so top-k is computed over visible chunks only). In
hybrid mode the BM25 leg runs while the query is encoded, both legs return ids and scores only, and the text
and snippets of the returned pages alone are fetched afterwards (bench/search-latency.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch

from backend.acl import acl_filter
from backend.embeddings import Embedder
from backend.errors import BadRequest, ConfigError, LoreError
from backend.es import translated
from backend.index import analysis
from backend.index.schema import current_index, index_meta
from backend.query_dates import date_hints
from backend.settings import SearchSettings, Settings

MODES = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 2000  # longer input is cut: BM25 and the embedder gain nothing from more
SNIPPET_CHARS = 240
# BM25 legs in flight at once per searcher (one per concurrent hybrid search; more wait their turn). The
# integ-test node of 2 cores runs 4 searches at a time (its search pool: cores * 3 / 2 + 1), a large one more.
LEG_THREADS = 8
STEMMING_TTL_SECONDS = 60.0  # how long a searcher trusts the index's `_meta.stemming` (a rebuild may change it)
# the legs of a hybrid search: scores and document ids only (doc values); text and snippets come afterwards
# for the returned documents alone.
_IDS_ONLY = {"_source": False, "docvalue_fields": ["doc_id"]}
_SOURCE_FIELDS = ["doc_id", "title", "url", "text", "heading_path", "source", "kind", "space", "updated", "chunk_no"]


@dataclass
class Hit:
    chunk_id: str
    doc_id: str
    title: str
    url: str
    text: str
    snippet: str
    heading_path: list[str]
    score: float
    source: str = ""
    kind: str = ""
    space: str = ""
    updated: str | None = None


@dataclass
class DocHit:
    doc_id: str
    title: str
    url: str
    score: float
    snippet: str
    hits: list[Hit] = field(default_factory=list)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    docs: list[DocHit]
    took_ms: float


class Searcher:
    def __init__(self, es: Elasticsearch, settings: Settings, embedder: Embedder | None):
        self.es = es
        self.s = settings.search
        self.alias = settings.es.index
        self.embedder = embedder
        self._stemming: tuple[str, float] | None = None  # (path, when read)
        self._legs_pool: ThreadPoolExecutor | None = None  # made on first use: a forked worker gets its own
        self._pool_lock = threading.Lock()

    def search(self, query: str, identities: Sequence[str], k: int | None = None, mode: str = "hybrid",
               filters: Sequence[dict] = ()) -> SearchResult:
        started = time.perf_counter()
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        if not query:
            raise BadRequest("The search query is empty: type a few words to search for.")
        if mode not in MODES:
            raise BadRequest(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
        k = k or self.s.k
        visible = {"bool": {"filter": [acl_filter(identities), *filters]}}
        if mode in ("dense", "hybrid") and self.embedder is None:
            raise BadRequest("Dense search needs the embedding model, which this process did not load.")
        if mode == "hybrid":
            hits = self._hybrid(query, visible, k)
        else:
            body = self._bm25_body(query, visible) if mode == "bm25" else self._knn_body(query, visible)
            hits = self._legs([(mode, body)])[mode]
        return SearchResult(query, mode, hits, group(hits, k), (time.perf_counter() - started) * 1000)

    def _legs(self, legs: list[tuple[str, dict]]) -> dict[str, list[Hit]]:
        """Run the legs in one `_msearch`; each leg's hits in its own order."""
        searches: list[dict] = []
        for _, body in legs:
            # a repeated question's BM25 leg comes from the shard request cache (dropped at the next refresh,
            # so never stale; kNN runs in a phase it does not keep): at 100k chunks 30 ms became 4
            searches += [{"index": self.alias, "request_cache": True}, body]
        with translated(self.es, "searching"):
            responses = self.es.msearch(searches=searches)["responses"]
        ranked: dict[str, list[Hit]] = {}
        for (name, _), resp in zip(legs, responses, strict=True):
            if "error" in resp:
                err = resp["error"]
                raise LoreError(f"Elasticsearch refused the {name} search: {err.get('type')}: {err.get('reason')}")
            ranked[name] = [_hit(h) for h in resp["hits"]["hits"]]
        return ranked

    def _hybrid(self, query: str, visible: dict, k: int) -> list[Hit]:
        """Both legs fetch ids, documents and scores only; fusion picks the `k` documents; one more request
        fetches the text and highlighted snippets of just their chunks.

        Fetching and highlighting 100 candidates per leg was most of a hybrid query's time (bench/
        search-latency.md), and the snippets do not depend on the leg: the highlight query is the asker's words
        either way. So the hits are those of the returned documents, in fused order, as `group` shows them.
        """
        bm25 = {**self._bm25_body(query, visible), **_IDS_ONLY}
        bm25.pop("highlight")
        # the BM25 leg needs no query vector: Elasticsearch runs it while the model encodes the question
        bm25_leg = self._pool().submit(self._legs, [("bm25", bm25)])
        dense = {**self._knn_body(query, visible), **_IDS_ONLY}
        dense.pop("highlight")
        dense_hits = self._legs([("dense", dense)])
        legs = {**bm25_leg.result(), **dense_hits}
        fused = fuse_legs(legs, self.s)
        shown: list[str] = []
        for h in fused:
            if h.doc_id not in shown and len(shown) < k:
                shown.append(h.doc_id)
        keep = set(shown)
        hits = [h for h in fused if h.doc_id in keep]
        return self._fill(hits, query, visible)

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._legs_pool is None:
                self._legs_pool = ThreadPoolExecutor(max_workers=LEG_THREADS, thread_name_prefix="lore-search-leg")
            return self._legs_pool

    def _fill(self, hits: list[Hit], query: str, visible: dict) -> list[Hit]:
        """Text, metadata and snippet for `hits` (found by id, fused scores kept); a chunk deleted or hidden
        since the legs ran is left out, as the legs would now leave it out."""
        if not hits:
            return hits
        ids = [h.chunk_id for h in hits]
        with translated(self.es, "fetching search results"):
            resp = self.es.search(index=self.alias, size=len(ids), _source=_SOURCE_FIELDS,
                                  query={"bool": {"filter": [{"ids": {"values": ids}}, visible]}},
                                  highlight={**_highlight(), "highlight_query": {"match": {"text": query}}})
        full = {h["_id"]: _hit(h) for h in resp["hits"]["hits"]}
        out = []
        for h in hits:
            found = full.get(h.chunk_id)
            if found is not None:
                found.score = h.score
                out.append(found)
        return out

    def stemming(self) -> str:
        """The index's stemming path (backend/index/analysis.py): the query must take the same one."""
        now = time.monotonic()
        if self._stemming is None or now - self._stemming[1] > STEMMING_TTL_SECONDS:
            with translated(self.es, "reading the index's stemming"):
                index = current_index(self.es, self.alias)
                path = index_meta(self.es, index).get("stemming", analysis.NONE) if index else analysis.NONE
            if index is None:
                return path  # no index yet: ask again next time rather than trust it for a minute
            self._stemming = (path, now)
        return self._stemming[0]

    def _match(self, text: str, fields: list[str]) -> dict:
        if self.s.bm25_type not in ("best_fields", "cross_fields", "most_fields"):
            raise ConfigError(f"LORE_SEARCH_BM25_TYPE={self.s.bm25_type!r}: "
                              "use cross_fields, best_fields or most_fields.")
        if self.s.bm25_type == "best_fields":
            return {"query": text, "type": "best_fields", "tie_breaker": 0.3, "fields": fields}
        return {"query": text, "type": self.s.bm25_type, "fields": fields}

    def _title_field(self) -> str:
        return "title_stems" if self.stemming() == analysis.PYTHON else "title"

    def _date_clauses(self, query: str, boost: float, scored: bool) -> list[dict]:
        """Title clauses for the dates `query` names (backend/query_dates.py); none when it names none."""
        hints = date_hints(query)
        if not hints or boost <= 0:
            return []
        field = self._title_field()
        clauses = [("match_phrase", p) for p in hints.phrases] + [("match", y) for y in hints.years]
        if scored:  # BM25: a rarer date (a month) scores above a common one (a year)
            return [{kind: {field: {"query": text, "boost": boost}}} for kind, text in clauses]
        return [{"constant_score": {"filter": {kind: {field: text}}, "boost": boost}} for kind, text in clauses]

    def _bm25_body(self, query: str, visible: dict) -> dict:
        fields = [f"title^{self.s.title_boost}", "heading_path.text^1.5", "text"]
        text = query
        if self.stemming() == analysis.PYTHON and analysis.stems(query):
            text = analysis.stems(query)  # the words as the *_stems fields hold them
            fields = [f"title_stems^{self.s.title_boost}", "heading_stems^1.5", "text_stems"]
        dated = self._date_clauses(query, self.s.date_boost, scored=True)
        return {
            "size": self.s.candidates,
            "_source": _SOURCE_FIELDS,
            # not counting every match lets BM25 skip blocks of documents that cannot reach the top
            # (block-max WAND): the same top hits, sooner; nothing reads the total
            "track_total_hits": False,
            "query": {"bool": {
                "must": {"multi_match": self._match(text, fields)},
                "filter": visible,
                **({"should": dated} if dated else {}),
            }},
            # the snippet marks the asker's words in the text, whichever fields matched them
            "highlight": {**_highlight(), "highlight_query": {"match": {"text": query}}},
        }

    def _knn_body(self, query: str, visible: dict) -> dict:
        assert self.embedder is not None
        body = {
            "size": self.s.candidates,
            "_source": _SOURCE_FIELDS,
            "knn": {
                "field": "embedding", "query_vector": self.embedder.encode_query(query),
                "k": self.s.candidates, "num_candidates": max(self.s.num_candidates, self.s.candidates),
                "filter": visible,
            },
            "highlight": {**_highlight(), "highlight_query": {"match": {"text": query}}},
        }
        dated = self._date_clauses(query, self.s.date_nudge, scored=False)
        if dated:
            # Elasticsearch adds a query's score to the kNN similarity of the same chunk: a dated page's chunks
            # move up by the nudge. A page only the date matches scores the nudge alone, far under any kNN hit,
            # so the leg's candidates stay the nearest chunks. The query filters by the asker's visibility too.
            body["query"] = {"bool": {"should": dated, "minimum_should_match": 1, "filter": visible}}
            body["track_total_hits"] = False
        return body


def _highlight() -> dict:
    return {
        "encoder": "html",  # snippets are HTML-escaped; <mark> is the only markup
        "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
        "fields": {"text": {"fragment_size": 200, "number_of_fragments": 1, "no_match_size": SNIPPET_CHARS}},
    }


def _hit(h: dict) -> Hit:
    src = h.get("_source") or {"doc_id": h["fields"]["doc_id"][0]}  # hybrid legs: ids and doc values only
    text = src.get("text", "")
    frags = h.get("highlight", {}).get("text")
    snippet = frags[0] if frags else _escape(text[:SNIPPET_CHARS])
    return Hit(
        chunk_id=h["_id"], doc_id=src["doc_id"], title=src.get("title", ""), url=src.get("url", ""), text=text,
        snippet=snippet, heading_path=src.get("heading_path") or [], score=float(h.get("_score") or 0.0),
        source=src.get("source", ""), kind=src.get("kind", ""), space=src.get("space", ""),
        updated=src.get("updated"),
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fuse_legs(legs: dict[str, Sequence[Hit]], s: SearchSettings) -> list[Hit]:
    """The BM25 and dense legs fused as configured (the searcher and the answer pipeline both use this)."""
    weight = {"bm25": s.bm25_weight, "dense": 1.0}
    weights = [weight.get(name, 1.0) for name in legs]
    if s.fusion not in ("zscore", "rrf"):
        raise ConfigError(f"LORE_SEARCH_FUSION={s.fusion!r} is not a fusion: use zscore or rrf.")
    if s.fusion == "rrf":
        return fuse(list(legs.values()), s.rrf_k, weights)
    return fuse_zscore(list(legs.values()), weights)


def fuse_zscore(rankings: Sequence[Sequence[Hit]], weights: Sequence[float]) -> list[Hit]:
    """Score fusion of standardised scores, per document; chunks come grouped by their document's rank.

    Each leg's scores become z-scores over its own candidates, so a hit that stands far above the rest of
    its leg counts for more than the top of a close pack (rank fusion treats both as rank 1: on the sample
    wiki the dense leg's confident-looking misses pushed BM25's clear answers down). A document scores the
    weighted sum over legs of its best chunk's z; a leg that did not return it adds 0 (its mean).
    Chosen on four evaluation sets at once (bench/fusion_sweep.py).
    """
    doc_z: dict[str, dict[int, float]] = {}
    chunk_z: dict[str, float] = {}
    best: dict[str, Hit] = {}
    for leg, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        if not ranking:
            continue
        values = [h.score for h in ranking]
        mean = sum(values) / len(values)
        sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
        for hit in ranking:
            z = weight * (hit.score - mean) / sd
            chunk_z[hit.chunk_id] = chunk_z.get(hit.chunk_id, 0.0) + z
            per_leg = doc_z.setdefault(hit.doc_id, {})
            per_leg[leg] = max(per_leg.get(leg, z), z)
            if hit.chunk_id not in best or ("<mark>" in hit.snippet and "<mark>" not in best[hit.chunk_id].snippet):
                best[hit.chunk_id] = hit
    doc_score = {d: sum(per_leg.values()) for d, per_leg in doc_z.items()}
    # A document's best chunk stands for it at its document's score; its other chunks rank by their own fused
    # score, never above that, so pages come in document order while the answer context (which takes the first
    # chunks) still gets passages of several pages, as with rank fusion, not every chunk of the first page.
    lead: dict[str, str] = {}
    for h in best.values():
        if h.doc_id not in lead or chunk_z[h.chunk_id] > chunk_z[lead[h.doc_id]]:
            lead[h.doc_id] = h.chunk_id
    for h in best.values():
        own = doc_score[h.doc_id]
        h.score = own if lead[h.doc_id] == h.chunk_id else min(chunk_z[h.chunk_id], own)
    return sorted(best.values(), key=lambda h: (-h.score, lead[h.doc_id] != h.chunk_id))


def fuse(rankings: Sequence[Sequence[Hit]], k: float = 60, weights: Sequence[float] | None = None) -> list[Hit]:
    """Weighted reciprocal rank fusion: score = sum over legs of weight / (k + rank). Keeps a highlighted copy."""
    scores: dict[str, float] = {}
    best: dict[str, Hit] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
            if hit.chunk_id not in best or ("<mark>" in hit.snippet and "<mark>" not in best[hit.chunk_id].snippet):
                best[hit.chunk_id] = hit
    fused = sorted(best.values(), key=lambda h: scores[h.chunk_id], reverse=True)
    for h in fused:
        h.score = scores[h.chunk_id]
    return fused


def group(hits: Sequence[Hit], k: int) -> list[DocHit]:
    """Group chunk hits per document, documents ordered by their best chunk; at most `k` documents."""
    docs: dict[str, DocHit] = {}
    for h in hits:
        d = docs.get(h.doc_id)
        if d is None:
            if len(docs) >= k:
                continue
            d = docs[h.doc_id] = DocHit(h.doc_id, h.title, h.url, h.score, h.snippet)
        d.hits.append(h)
    return list(docs.values())
