"""Embedding throughput by torch thread count, on real wiki chunks: picks LORE_EMBED_TORCH_THREADS.

Each thread count runs in its own process (torch fixes its pool at first use), interleaved twice.

    python bench/embed_threads.py [--threads 1,2] [--chunks 256]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from dataclasses import replace
from backend.chunking import chunk_document
from backend.embeddings import Embedder
from backend.eval.retrieval import load_corpus
from backend.settings import Settings
s = Settings.from_env()
s = replace(s, embed=replace(s.embed, torch_threads={threads}))
texts = [c.embed_text() for d in load_corpus({corpus!r}) for c in chunk_document(d)][:{n}]
e = Embedder(s.embed, s.cache_dir)
e.encode(texts[:16])
t = time.perf_counter()
for i in range(0, len(texts), 64):
    e.encode(texts[i:i + 64])
print(json.dumps({{"threads": {threads}, "chunks": len(texts), "seconds": time.perf_counter() - t}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--corpus", default=str(REPO / "bench" / "out" / "eval" / "wiki-corpus.jsonl"))
    args = ap.parse_args()
    results: dict[int, list[float]] = {}
    for _ in range(2):
        for t in (int(x) for x in args.threads.split(",")):
            code = CHILD.format(repo=str(REPO), threads=t, corpus=args.corpus, n=args.chunks)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results.setdefault(t, []).append(row["chunks"] / row["seconds"])
    for t, rates in results.items():
        runs = ", ".join(f"{r:.1f}" for r in rates)
        print(f"torch threads {t}: {sum(rates) / len(rates):6.1f} chunks/s  (runs: {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
