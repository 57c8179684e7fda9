"""Retrieval evaluation on any corpus/question set in the shared shapes (see shared/data/README.md).

The corpus goes into a throw-away index on the running Elasticsearch (deleted afterwards), every question
is asked as a user who sees everything (documents carry the `public` identity), and doc-level metrics
are computed: a hit is any chunk of a gold document.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from backend.documents import PUBLIC, Document
from backend.embeddings import Embedder
from backend.errors import BadRequest
from backend.es import connect
from backend.eval.cache import CachedEmbedder
from backend.indexer import Indexer
from backend.search import MODES, Searcher
from backend.settings import Settings

NOT_IN_CORPUS = "NOT_IN_CORPUS"
RECALL_AT = (1, 5, 10)


@dataclass
class Question:
    qid: str
    question: str
    answer: str = ""
    gold_doc_ids: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.gold_doc_ids) and self.answer != NOT_IN_CORPUS


def _jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    p = Path(path)
    if not p.is_file():
        raise BadRequest(f"File not found: {p}")
    with open(p, encoding="utf-8", errors="replace") as f:  # invalid UTF-8 becomes U+FFFD, never a crash
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadRequest(f"{p}:{n}: not valid JSON ({exc.msg}); each line must be one JSON object.") from exc
            if not isinstance(row, dict):
                raise BadRequest(f"{p}:{n}: expected a JSON object per line.")
            yield n, row


def load_corpus(path: str | Path) -> list[Document]:
    docs = []
    for n, row in _jsonl(path):
        if "doc_id" not in row:
            raise BadRequest(f"{path}:{n}: a corpus line needs doc_id, title and text.")
        docs.append(Document(
            # no title is an honest empty one: the doc id as a title would be embedded and searched as words
            id=str(row["doc_id"]), title=str(row.get("title") or ""), text=str(row.get("text") or ""),
            url=str(row.get("url") or ""), source="eval", kind="document", acl=[PUBLIC],
        ))
    return docs


def load_questions(path: str | Path) -> list[Question]:
    out = []
    for n, row in _jsonl(path):
        if "question" not in row and "query" not in row:
            raise BadRequest(f"{path}:{n}: a question line needs qid and question.")
        out.append(Question(
            qid=str(row.get("qid", n)), question=str(row.get("question") or row.get("query")),
            answer=str(row.get("answer") or ""), gold_doc_ids=[str(d) for d in row.get("gold_doc_ids") or []],
        ))
    return out


@dataclass
class EvalIndex:
    settings: Settings
    indexer: Indexer
    searcher: Searcher
    embedder: Embedder | CachedEmbedder
    chunks: int
    index_seconds: float
    embed_seconds: float
    skipped: list[tuple[str, str]]


@contextlib.contextmanager
def build_index(settings: Settings, docs: list[Document], embedder: Embedder | CachedEmbedder | None = None,
                keep: str | None = None) -> Iterator[EvalIndex]:
    """Index `docs` into a fresh throw-away alias; everything is deleted on exit, even on errors.

    With `keep`, the alias is that name and survives the run; when it already holds the corpus (same
    document count), indexing is skipped: two models can be evaluated on one index without re-embedding.
    """
    alias = keep or f"lore-eval-{uuid.uuid4().hex[:10]}"
    s = replace(settings, es=replace(settings.es, index=alias))
    es = connect(s.es)  # fails here, before anything is written, when Elasticsearch is down
    embedder = embedder or Embedder(s.embed, s.cache_dir)
    indexer = Indexer(es, s, embedder)
    try:
        indexer.ensure_index()
        reuse = keep is not None and _indexed_docs(es, alias) == len(docs)
        spent, started, report = embedder.seconds, time.perf_counter(), None
        if not reuse:
            report = indexer.index_documents(docs)
            indexer.refresh()
        chunks = report.chunks if report else indexer.count()
        yield EvalIndex(s, indexer, Searcher(es, s, embedder), embedder, chunks,
                        time.perf_counter() - started if report else 0.0, embedder.seconds - spent,
                        report.skipped if report else [])
    finally:
        if keep is None:
            with contextlib.suppress(Exception):
                for name in es.indices.get(index=f"{alias}-*"):
                    es.indices.delete(index=name)


def _indexed_docs(es, alias: str) -> int:
    resp = es.search(index=alias, size=0, aggs={"docs": {"cardinality": {"field": "doc_id"}}})
    return int(resp["aggregations"]["docs"]["value"])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def evaluate_mode(ix: EvalIndex, questions: list[Question], mode: str, k: int) -> dict:
    recall = {n: 0.0 for n in RECALL_AT}
    hit = {n: 0 for n in RECALL_AT}  # questions with at least one gold document in the top n
    rr = 0.0
    latencies: list[float] = []
    rows = []
    answerable = [q for q in questions if q.answerable]
    depth = max(k, *RECALL_AT)
    for q in answerable:
        t = time.perf_counter()
        result = ix.searcher.search(q.question, [PUBLIC], k=depth, mode=mode)
        latencies.append((time.perf_counter() - t) * 1000)
        ranked = [d.doc_id for d in result.docs]
        gold = set(q.gold_doc_ids)
        for n in RECALL_AT:
            recall[n] += len(gold & set(ranked[:n])) / len(gold)
            hit[n] += bool(gold & set(ranked[:n]))
        first = next((i for i, d in enumerate(ranked[:10], start=1) if d in gold), None)
        rr += 1.0 / first if first else 0.0
        rows.append({"qid": q.qid, "rank": first, "top": ranked[:5]})
    n = max(len(answerable), 1)
    return {
        "mode": mode, "questions": len(answerable),
        **{f"recall@{k_}": recall[k_] / n for k_ in RECALL_AT},
        **{f"hit@{k_}": hit[k_] / n for k_ in RECALL_AT},
        "mrr@10": rr / n,
        "latency_ms_p50": percentile(latencies, 50), "latency_ms_p95": percentile(latencies, 95),
        "rows": rows,
    }


def run_retrieval(corpus: str, questions_path: str, modes: list[str], k: int, settings: Settings,
                  keep: str | None = None) -> dict:
    docs = load_corpus(corpus)
    questions = load_questions(questions_path)
    with build_index(settings, docs, keep=keep) as ix:
        results = [evaluate_mode(ix, questions, m, k) for m in modes]
    return {
        "corpus": corpus, "questions_file": questions_path, "index": ix.settings.es.index,
        "documents": len(docs), "chunks": ix.chunks,
        "questions": len(questions), "unanswerable": sum(not q.answerable for q in questions),
        "model": settings.embed.model, "index_seconds": ix.index_seconds,
        "chunks_per_second": ix.chunks / ix.index_seconds if ix.index_seconds else 0.0,
        "skipped": ix.skipped, "modes": results,
    }


def print_retrieval(report: dict) -> None:
    print(f"corpus {report['corpus']}: {report['documents']} documents, {report['chunks']} chunks, "
          f"indexed in {report['index_seconds']:.1f}s ({report['chunks_per_second']:.1f} chunks/s, "
          f"model {report['model']})")
    print(f"questions {report['questions_file']}: {report['questions']} "
          f"({report['unanswerable']} unanswerable, left out of retrieval metrics)")
    print(f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for m in report["modes"]:
        print(f"{m['mode']:<8} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} {m['recall@10']:>6.3f} "
              f"{m['mrr@10']:>7.3f} {m['latency_ms_p50']:>8.1f} {m['latency_ms_p95']:>8.1f}")


def modes_arg(value: str) -> list[str]:
    return list(MODES) if value == "all" else [value]
