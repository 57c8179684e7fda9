"""Indexing benchmark: end-to-end indexing throughput / raw embedding throughput on the same chunks.

Goal: >= 0.9 (the pipeline adds under 10% to the model's own cost). Both are measured in this run, on
this machine, interleaved (raw, end-to-end, raw) so that drift in machine load hits both sides.

    python bench/indexing.py [--corpus bench/out/eval/wiki-corpus.jsonl] [--docs 120] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.chunking import chunk_document  # noqa: E402
from backend.embeddings import Embedder  # noqa: E402
from backend.eval.retrieval import build_index, load_corpus  # noqa: E402
from backend.indexer import EMBED_BATCH_CHUNKS  # noqa: E402
from backend.settings import Settings  # noqa: E402

DEFAULT_CORPUS = Path(__file__).parent / "out" / "eval" / "wiki-corpus.jsonl"


def raw_embedding(embedder: Embedder, texts: list[str]) -> float:
    """Seconds to embed `texts` in the same batches the indexer uses, nothing else."""
    started = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH_CHUNKS):
        embedder.encode(texts[i:i + EMBED_BATCH_CHUNKS])
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    ap.add_argument("--docs", type=int, default=120, help="first N documents of the corpus (0 = all)")
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args()
    if not Path(args.corpus).is_file():
        print(f"corpus not found: {args.corpus}; run: python bench/data/make_eval_sets.py", file=sys.stderr)
        return 1
    settings = Settings.from_env()
    docs = load_corpus(args.corpus)
    if args.docs:
        docs = docs[: args.docs]
    embedder = Embedder(settings.embed, settings.cache_dir)
    texts = [c.embed_text() for d in docs for c in chunk_document(replace(d), settings.chunk.words,
                                                                   settings.chunk.overlap,
                                                                   settings.chunk.merge_below)]
    embedder.encode(texts[:8])  # warm-up: first call pays one-off allocations
    raw1 = raw_embedding(embedder, texts)
    with build_index(settings, docs, embedder) as ix:
        e2e = ix.index_seconds
        chunks = ix.chunks
    raw2 = raw_embedding(embedder, texts)
    raw = (raw1 + raw2) / 2
    report = {
        "documents": len(docs), "chunks": chunks, "model": settings.embed.model,
        "torch_threads": settings.embed.torch_threads, "batch": EMBED_BATCH_CHUNKS,
        "raw_embed_seconds": [round(raw1, 2), round(raw2, 2)], "raw_chunks_per_s": len(texts) / raw,
        "end_to_end_seconds": round(e2e, 2), "end_to_end_chunks_per_s": chunks / e2e,
        "ratio": (chunks / e2e) / (len(texts) / raw),
    }
    print(f"{report['documents']} documents, {chunks} chunks, model {report['model']}, "
          f"torch threads {report['torch_threads']}")
    print(f"raw embedding : {report['raw_chunks_per_s']:.1f} chunks/s (runs: {raw1:.1f}s, {raw2:.1f}s)")
    print(f"end to end    : {report['end_to_end_chunks_per_s']:.1f} chunks/s ({e2e:.1f}s incl. bulk + refresh)")
    print(f"ratio         : {report['ratio']:.3f} (goal >= 0.9)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
