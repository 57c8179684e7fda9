"""Helpers of bench/search_latency.py: the baseline searcher from git, a per-stage profile of one hybrid query,
and the check that a faster searcher returns exactly what the baseline returns."""

from __future__ import annotations

import copy
import subprocess
import sys
import time
import types
from pathlib import Path

from backend.documents import PUBLIC
from backend.eval.retrieval import percentile
from backend.search import fuse_legs, group

ROOT = Path(__file__).resolve().parents[1]
_embedders: list = []  # the embedders whose query cache `clear_query_cache` empties


class _Uncached:
    """The embedder as the baseline saw it: every query encoded by the model, nothing remembered."""

    def __init__(self, embedder):
        self.inner = embedder

    def encode_query(self, text: str) -> list[float]:
        return self.inner.encode([self.inner.query_prefix + text])[0].tolist()


def baseline_searcher(rev: str, ix):
    """`backend/search.py` at `rev`, loaded from git as a module of its own, over the bench's index."""
    source = subprocess.check_output(["git", "show", f"{rev}:backend/search.py"], cwd=ROOT, text=True)
    module = types.ModuleType(f"baseline_search_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{rev}:backend/search.py", "exec"), module.__dict__)  # noqa: S102 - our own file
    _embedders.append(ix.embedder)
    return module.Searcher(ix.indexer.es, ix.settings, _Uncached(ix.embedder))


def clear_query_cache(es=None, index: str | None = None) -> None:
    """Forget what a question never asked before could not find ready: the query vectors and, with `es`, the
    shard request cache of `index` (which would otherwise answer the BM25 leg of a question asked earlier)."""
    for e in _embedders:
        inner = getattr(e, "inner", e)
        if hasattr(inner, "clear_query_cache"):
            inner.clear_query_cache()
    if es is not None:
        es.indices.clear_cache(index=index, request=True)


def same_results(baseline, new, questions: list[str]) -> dict:
    """Does the new searcher show what the baseline shows: the same documents in the same order, each with the
    same chunks, scores, snippets and text? (In hybrid mode the new one drops the chunks of documents below k,
    which nothing shows; in single-leg modes every hit must match.)"""
    out = {}
    for mode in ("bm25", "dense", "hybrid"):
        differ = []
        for q in questions:
            a = baseline.search(q, [PUBLIC], mode=mode)
            b = new.search(q, [PUBLIC], mode=mode)
            shown_a = [(d.doc_id, d.title, d.url, d.snippet, round(d.score, 6),
                        [(h.chunk_id, round(h.score, 6), h.snippet, h.text, h.heading_path) for h in d.hits])
                       for d in a.docs]
            shown_b = [(d.doc_id, d.title, d.url, d.snippet, round(d.score, 6),
                        [(h.chunk_id, round(h.score, 6), h.snippet, h.text, h.heading_path) for h in d.hits])
                       for d in b.docs]
            all_a, all_b = [(h.chunk_id, h.snippet) for h in a.hits], [(h.chunk_id, h.snippet) for h in b.hits]
            if shown_a != shown_b or (mode != "hybrid" and all_a != all_b):
                differ.append(q)
        out[mode] = {"questions": len(questions), "different": len(differ), "examples": differ[:3]}
    return out


def _es_call(es, fn, **kw) -> tuple[dict, float]:
    t = time.perf_counter()
    resp = fn(**kw)
    return resp, (time.perf_counter() - t) * 1000


def profile(searcher, new, questions: list[str]) -> dict:
    """Where one hybrid query's time goes, stage by stage (each stage timed alone, so they need not add up).

    The legs are the baseline `searcher`'s: `took` is Elasticsearch's own time, the round trip adds HTTP,
    JSON and the client; the `no highlight` and `ids only` variants price the highlighter and the `_source`
    fetch of 100 candidates. The last stages time the `new` searcher whole and its one extra request."""
    es, alias = searcher.es, searcher.alias
    embedder = getattr(searcher.embedder, "inner", searcher.embedder)
    raw = getattr(embedder, "inner", embedder)
    t: dict[str, list[float]] = {}

    def add(stage: str, ms: float) -> None:
        t.setdefault(stage, []).append(ms)

    from backend.acl import acl_filter
    from backend.search import _hit

    for q in questions:
        visible = {"bool": {"filter": [acl_filter([PUBLIC])]}}
        s0 = time.perf_counter()
        searcher.stemming()
        add("stemming lookup (new: cached)", (time.perf_counter() - s0) * 1000)
        s0 = time.perf_counter()
        vector = raw.encode([raw.query_prefix + q])[0].tolist()
        add("query encoding (model)", (time.perf_counter() - s0) * 1000)
        bm25 = searcher._bm25_body(q, visible)
        knn = searcher._knn_body(q, visible)
        knn["knn"]["query_vector"] = vector
        for leg, body in (("bm25", bm25), ("knn", knn)):
            full = copy.deepcopy(body)
            full.setdefault("highlight", _HIGHLIGHT)  # the baseline highlighted all 100 candidates per leg
            resp, ms = _es_call(es, es.search, index=alias, **full)
            add(f"{leg} leg, highlight all (round trip)", ms)
            add(f"{leg} leg, highlight all (ES took)", resp["took"])
            plain = {k: v for k, v in full.items() if k != "highlight"}
            resp, ms = _es_call(es, es.search, index=alias, **plain)
            add(f"{leg} leg, no highlight (round trip)", ms)
            ids = {**plain, "_source": False}
            resp, ms = _es_call(es, es.search, index=alias, **ids)
            add(f"{leg} leg, ids only (round trip)", ms)
            add(f"{leg} leg, ids only (ES took)", resp["took"])
        both = [{"index": alias}, {**bm25, "highlight": _HIGHLIGHT}, {"index": alias}, {**knn, "highlight": _HIGHLIGHT}]
        resp, ms = _es_call(es, es.msearch, searches=both)
        add("both legs, one _msearch, highlight all", ms)
        s0 = time.perf_counter()
        legs = {name: [_hit(h) for h in r["hits"]["hits"]]
                for name, r in zip(("bm25", "dense"), resp["responses"], strict=True)}
        add("parse 200 hits (Python)", (time.perf_counter() - s0) * 1000)
        s0 = time.perf_counter()
        group(fuse_legs(legs, searcher.s), searcher.s.k)
        add("fusion + grouping (Python)", (time.perf_counter() - s0) * 1000)
        s0 = time.perf_counter()
        searcher.search(q, [PUBLIC], mode="hybrid")
        add("whole hybrid search(), baseline", (time.perf_counter() - s0) * 1000)
        clear_query_cache(es, alias)
        s0 = time.perf_counter()
        result = new.search(q, [PUBLIC], mode="hybrid")
        add("whole hybrid search(), new, cold", (time.perf_counter() - s0) * 1000)
        s0 = time.perf_counter()
        new._fill(result.hits, q, visible)
        add("new: fetch + highlight shown chunks", (time.perf_counter() - s0) * 1000)
        add("new: chunks shown (a count, not ms)", len(result.hits))
    return {stage: {"p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95)} for stage, v in t.items()}


_HIGHLIGHT = {
    "encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
    "fields": {"text": {"fragment_size": 200, "number_of_fragments": 1, "no_match_size": 240}},
}
