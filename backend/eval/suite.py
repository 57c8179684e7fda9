"""`python -m backend.eval all`: every evaluation set there is data for, three modes each, one table.

Sets that share a corpus (our and the shared wiki questions) share one index. With `--index-prefix` the
indices are kept as `<prefix><corpus>-<fingerprint>` and reused by the next run with the same corpus, model,
chunking and schema; `--embed-cache` keeps chunk embeddings on disk across chunking or schema changes.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

from backend.documents import PUBLIC, Document
from backend.embeddings import Embedder
from backend.eval.cache import CachedEmbedder
from backend.eval.retrieval import Question, build_index, evaluate_mode
from backend.eval.sets import SET_NAMES, EvalSet, build_sets
from backend.index.schema import SCHEMA_VERSION
from backend.search import MODES
from backend.settings import Settings

METRICS = (("hit@5", "Hit@5"), ("hit@10", "Hit@10"), ("mrr@10", "MRR@10"))


def _documents(rows: list[dict]) -> list[Document]:
    return [Document(id=str(r["doc_id"]), title=str(r.get("title") or ""), text=str(r.get("text") or ""),
                     url=str(r.get("url") or ""), source="eval", kind="document", acl=[PUBLIC]) for r in rows]


def _questions(rows: list[dict]) -> list[Question]:
    return [Question(qid=str(r["qid"]), question=str(r["question"]), answer=str(r.get("answer") or ""),
                     gold_doc_ids=[str(d) for d in r.get("gold_doc_ids") or []]) for r in rows]


def fingerprint(corpus: list[dict], settings: Settings) -> str:
    """Changes when anything that shapes the index does: the documents, model, chunking, schema, analyzer."""
    h = hashlib.sha1()
    h.update(json.dumps([settings.embed.model, settings.embed.max_seq_length, asdict(settings.chunk),
                         SCHEMA_VERSION, settings.es.analyzer]).encode())
    for row in corpus:
        h.update(json.dumps([row["doc_id"], row.get("title"), row.get("text")]).encode())
    return h.hexdigest()[:10]


def run_all(settings: Settings, shared: Path, names: tuple[str, ...] = SET_NAMES, k: int = 10,
            index_prefix: str | None = None, embed_cache: str | None = None, log=print) -> dict:
    sets, missing = build_sets(shared, names)
    for line in missing:
        log(f"left out {line}")
    embedder: Embedder | CachedEmbedder = Embedder(settings.embed, settings.cache_dir)
    if embed_cache:
        embedder = CachedEmbedder(embedder, embed_cache)
    by_corpus: dict[str, list[EvalSet]] = {}
    for s in sets:
        by_corpus.setdefault(s.corpus_name, []).append(s)
    results: list[dict] = []
    corpora: dict[str, dict] = {}
    for corpus_name, group in by_corpus.items():
        corpus = group[0].corpus
        keep = f"{index_prefix}{corpus_name}-{fingerprint(corpus, settings)}" if index_prefix else None
        started = time.perf_counter()
        with build_index(settings, _documents(corpus), embedder=embedder, keep=keep) as ix:
            corpora[corpus_name] = {"documents": len(corpus), "chunks": ix.chunks, "index": ix.settings.es.index,
                                    "index_seconds": round(ix.index_seconds, 1), "skipped": len(ix.skipped)}
            log(f"{corpus_name}: {len(corpus)} documents, {ix.chunks} chunks "
                f"({'reused' if not ix.index_seconds else f'indexed in {ix.index_seconds:.0f}s'})")
            for s in group:
                questions = _questions(s.questions)
                modes = {m: evaluate_mode(ix, questions, m, k) for m in MODES}
                answerable = modes["bm25"]["questions"]
                results.append({"set": s.name, "corpus": corpus_name, "questions": answerable,
                                "unanswerable": len(questions) - answerable, "modes": modes})
        corpora[corpus_name]["seconds"] = round(time.perf_counter() - started, 1)
    return {"model": settings.embed.model, "schema_version": SCHEMA_VERSION, "analyzer": settings.es.analyzer,
            "search": asdict(settings.search), "chunk": asdict(settings.chunk), "corpora": corpora,
            "left_out": missing, "sets": results, "verdicts": verdicts(results)}


def verdicts(results: list[dict]) -> list[dict]:
    """Per set: is hybrid at least as good as its better leg on Hit@5 and MRR@10 (the rule for fusion)?"""
    out = []
    for r in results:
        m = r["modes"]
        row = {"set": r["set"]}
        for key in ("hit@5", "mrr@10"):
            best = max(m["bm25"][key], m["dense"][key])
            row[key] = round(m["hybrid"][key] - best, 4)
        row["hybrid_ok"] = row["hit@5"] >= -1e-9 and row["mrr@10"] >= -1e-9
        out.append(row)
    return out


def table(report: dict) -> str:
    head = f"{'set':<10} {'n':>4}  " + "  ".join(f"{'bm25':>6} {'dense':>6} {'hybrid':>6}" for _ in METRICS)
    title = f"{'':<10} {'':>4}  " + "  ".join(f"{label:^20}" for _, label in METRICS)
    lines = [title, head]
    for r in report["sets"]:
        cells = "  ".join(" ".join(f"{r['modes'][mode][key]:>6.3f}" for mode in MODES) for key, _ in METRICS)
        lines.append(f"{r['set']:<10} {r['questions']:>4}  {cells}")
    bad = [v["set"] for v in report["verdicts"] if not v["hybrid_ok"]]
    lines.append("hybrid >= its better leg on Hit@5 and MRR@10 on every set" if not bad
                 else f"hybrid below its better leg on: {', '.join(bad)}")
    return "\n".join(lines)
