"""Search latency at ~10k and ~100k chunks (p50/p95 per mode) with Elasticsearch's heap.

Real wiki chunks are embedded once; the index is then grown synthetically: each synthetic chunk mixes
the words of two real chunks and takes a noisy, re-normalised copy of a real vector, so BM25 and kNN
work on realistic term and vector distributions without hours of embedding.

    python bench/search_latency.py [--sizes 10000,100000] [--docs 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from elasticsearch.helpers import scan, streaming_bulk  # noqa: E402

from backend.documents import PUBLIC  # noqa: E402
from backend.eval.retrieval import build_index, load_corpus, load_questions, percentile  # noqa: E402
from backend.search import MODES  # noqa: E402
from backend.settings import Settings  # noqa: E402

OUT = Path(__file__).parent / "out" / "eval"
NOISE = 0.35  # norm of the noise added to a unit vector: neighbours stay plausible but distinct


def grow(ix, target: int, rng: random.Random) -> int:
    es, alias = ix.indexer.es, ix.settings.es.index
    base = [h["_source"] for h in scan(es, index=alias, query={"query": {"match_all": {}}},
                                       _source_exclude_vectors=False)]
    current = es.count(index=alias)["count"]
    need = target - current
    if need <= 0:
        return current

    def actions():
        for i in range(need):
            a, b = rng.choice(base), rng.choice(base)
            words = (a["text"].split() + b["text"].split())
            rng.shuffle(words)
            vec = np.asarray(a["embedding"], dtype=np.float32)
            vec = vec + NOISE / np.sqrt(len(vec)) * np.random.standard_normal(len(vec)).astype(np.float32)
            vec /= np.linalg.norm(vec)
            src = dict(a, doc_id=f"synthetic:{current + i}", chunk_no=0, text=" ".join(words[:220]),
                       title=f"{a['title']} / {b['title']}", embedding=vec.tolist())
            yield {"_index": alias, "_id": f"synthetic:{current + i}#0", "_source": src}

    for ok, item in streaming_bulk(es, actions(), chunk_size=500, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk failed: {item}")
    es.indices.refresh(index=alias)
    return es.count(index=alias)["count"]


def measure(ix, questions: list[str], repeat: int) -> dict:
    out = {}
    for mode in MODES:
        for q in questions[:5]:  # warm-up: caches and HNSW graph pages
            ix.searcher.search(q, [PUBLIC], mode=mode)
        lat = []
        for _ in range(repeat):
            for q in questions:
                t = time.perf_counter()
                ix.searcher.search(q, [PUBLIC], mode=mode)
                lat.append((time.perf_counter() - t) * 1000)
        out[mode] = {"p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95), "queries": len(lat)}
    return out


def heap(es) -> dict:
    stats = es.nodes.stats(metric="jvm")["nodes"]
    node = next(iter(stats.values()))["jvm"]["mem"]
    return {"heap_used_mb": node["heap_used_in_bytes"] / 2**20, "heap_max_mb": node["heap_max_in_bytes"] / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(OUT / "wiki-corpus.jsonl"))
    ap.add_argument("--questions", default=str(OUT / "wiki-all-questions.jsonl"))
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--docs", type=int, default=150, help="real documents embedded before growing")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args()
    settings = Settings.from_env()
    docs = load_corpus(args.corpus)[: args.docs or None]
    questions = [q.question for q in load_questions(args.questions)]
    rng = random.Random(7)
    np.random.seed(7)
    rows = []
    with build_index(settings, docs) as ix:
        print(f"{ix.chunks} real chunks from {len(docs)} documents embedded in {ix.index_seconds:.0f}s")
        for size in sorted(int(s) for s in args.sizes.split(",")):
            t = time.perf_counter()
            total = grow(ix, size, rng)
            grow_s = time.perf_counter() - t
            lat = measure(ix, questions, args.repeat)
            rows.append({"chunks": total, "grow_seconds": grow_s, **heap(ix.indexer.es), "latency": lat})
            r = rows[-1]
            print(f"\n{total:,} chunks (grown in {grow_s:.0f}s), ES heap {r['heap_used_mb']:.0f}/"
                  f"{r['heap_max_mb']:.0f} MB")
            for mode, v in lat.items():
                print(f"  {mode:<7} p50 {v['p50_ms']:7.1f} ms   p95 {v['p95_ms']:7.1f} ms   ({v['queries']} queries)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
