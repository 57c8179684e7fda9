"""Choose fusion on every evaluation set at once: fetch each leg's deep candidate list once, replay fusions offline.

Usage: python bench/fusion_sweep.py --index-prefix lore-qual- [--embed-cache DIR] [--depth 200] [--out F.json]

Indexes (or reuses, like `python -m backend.eval all --index-prefix`) each corpus, asks every answerable
question of every set to the BM25 and the dense leg with `--depth` candidates, then scores each fusion
configuration (RRF with weights, constant and candidate depth; min-max score fusion; fusion of document
ranks instead of chunk ranks) by Hit@5 and MRR@10 against the better single leg, per set. Prints the
configurations that are never below the better leg, best worst-case margin first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.documents import PUBLIC  # noqa: E402
from backend.embeddings import Embedder  # noqa: E402
from backend.eval.cache import CachedEmbedder  # noqa: E402
from backend.eval.retrieval import build_index  # noqa: E402
from backend.eval.sets import SET_NAMES, build_sets, default_shared  # noqa: E402
from backend.eval.suite import _documents, fingerprint  # noqa: E402
from backend.settings import Settings  # noqa: E402


def fetch(settings: Settings, args) -> list[dict]:
    """Per question: gold ids and each leg's ranked (chunk_id, doc_id, score) list."""
    sets, _ = build_sets(Path(args.shared), tuple(args.sets.split(",")))
    embedder = Embedder(settings.embed, settings.cache_dir)
    if args.embed_cache:
        embedder = CachedEmbedder(embedder, args.embed_cache)
    deep = replace(settings, search=replace(settings.search, candidates=args.depth,
                                            num_candidates=max(settings.search.num_candidates, args.depth)))
    rows = []
    by_corpus: dict[str, list] = {}
    for s in sets:
        by_corpus.setdefault(s.corpus_name, []).append(s)
    for corpus_name, group in by_corpus.items():
        keep = f"{args.index_prefix}{corpus_name}-{fingerprint(group[0].corpus, settings)}"
        with build_index(deep, _documents(group[0].corpus), embedder=embedder, keep=keep) as ix:
            print(f"{corpus_name}: {ix.chunks} chunks", file=sys.stderr)
            for s in group:
                for q in s.questions:
                    if not q.get("gold_doc_ids"):
                        continue
                    legs = {}
                    for mode in ("bm25", "dense"):
                        res = ix.searcher.search(q["question"], [PUBLIC], k=10, mode=mode)
                        legs[mode] = [(h.chunk_id, h.doc_id, h.score) for h in res.hits]
                    rows.append({"set": s.name, "qid": q["qid"], "gold": q["gold_doc_ids"], **legs})
    return rows


Leg = list[tuple[str, str, float]]


def docs_of(chunks: Leg) -> list[str]:
    seen: dict[str, None] = {}
    for _, d, _ in chunks:
        seen.setdefault(d, None)
    return list(seen)


def rrf(legs: list[Leg], weights: list[float], k: float, depth: int) -> list[str]:
    scores: dict[str, float] = {}
    owner: dict[str, str] = {}
    for leg, w in zip(legs, weights, strict=True):
        for rank, (chunk, doc, _) in enumerate(leg[:depth], start=1):
            scores[chunk] = scores.get(chunk, 0.0) + w / (k + rank)
            owner[chunk] = doc
    return docs_of([(c, owner[c], s) for c, s in sorted(scores.items(), key=lambda x: -x[1])])


def doc_rrf(legs: list[Leg], weights: list[float], k: float, depth: int) -> list[str]:
    scores: dict[str, float] = {}
    for leg, w in zip(legs, weights, strict=True):
        for rank, doc in enumerate(docs_of(leg[:depth]), start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return [d for d, _ in sorted(scores.items(), key=lambda x: -x[1])]


def minmax(legs: list[Leg], weights: list[float], depth: int) -> list[str]:
    scores: dict[str, float] = {}
    for leg, w in zip(legs, weights, strict=True):
        docs: dict[str, float] = {}
        for _, d, s in leg[:depth]:
            docs[d] = max(docs.get(d, s), s)  # a document's best chunk
        if not docs:
            continue
        lo, hi = min(docs.values()), max(docs.values())
        for d, s in docs.items():
            scores[d] = scores.get(d, 0.0) + w * ((s - lo) / (hi - lo) if hi > lo else 1.0)
    return [d for d, _ in sorted(scores.items(), key=lambda x: -x[1])]


def zscore(legs: list[Leg], weights: list[float], depth: int, dbsf: bool = False) -> list[str]:
    """Scores standardised per leg over its top `depth` (DBSF: mapped from mean +- 3 sd onto 0..1)."""
    scores: dict[str, float] = {}
    for leg, w in zip(legs, weights, strict=True):
        docs: dict[str, float] = {}
        for _, d, s in leg[:depth]:
            docs[d] = max(docs.get(d, s), s)
        if len(docs) < 2:
            continue
        vals = [s for _, _, s in leg[:depth]]
        mean = sum(vals) / len(vals)
        sd = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5 or 1.0
        for d, s in docs.items():
            z = (s - mean) / sd
            scores[d] = scores.get(d, 0.0) + w * ((z + 3) / 6 if dbsf else z)
    return [d for d, _ in sorted(scores.items(), key=lambda x: -x[1])]


def metrics(rankings: list[list[str]], golds: list[list[str]]) -> tuple[float, float]:
    hit5 = mrr = 0.0
    for ranked, gold in zip(rankings, golds, strict=True):
        g = set(gold)
        hit5 += bool(g & set(ranked[:5]))
        first = next((i for i, d in enumerate(ranked[:10], start=1) if d in g), None)
        mrr += 1 / first if first else 0.0
    n = max(len(golds), 1)
    return hit5 / n, mrr / n


def configs():
    for depth, k, w in itertools.product((20, 50, 100, 200), (5, 10, 20, 40, 60), (0.5, 0.7, 1.0, 1.4, 2.0)):
        yield f"rrf d={depth} k={k} wb={w}", lambda legs, d=depth, k_=k, w_=w: rrf(legs, [w_, 1.0], k_, d)
        yield f"docrrf d={depth} k={k} wb={w}", lambda legs, d=depth, k_=k, w_=w: doc_rrf(legs, [w_, 1.0], k_, d)
    alphas = (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
    for depth, alpha in itertools.product((10, 20, 30, 50, 100, 200), alphas):
        yield f"minmax d={depth} a={alpha}", lambda legs, d=depth, a=alpha: minmax(legs, [a, 1 - a], d)
        yield f"zscore d={depth} a={alpha}", lambda legs, d=depth, a=alpha: zscore(legs, [a, 1 - a], d)
        yield f"dbsf d={depth} a={alpha}", lambda legs, d=depth, a=alpha: zscore(legs, [a, 1 - a], d, True)


def sweep(rows: list[dict]) -> list[dict]:
    sets = sorted({r["set"] for r in rows}, key=lambda s: SET_NAMES.index(s))
    base = {}
    for s in sets:
        rs = [r for r in rows if r["set"] == s]
        golds = [r["gold"] for r in rs]
        base[s] = {leg: metrics([docs_of(r[leg]) for r in rs], golds) for leg in ("bm25", "dense")}
    out = []
    for name, fn in configs():
        per = {}
        for s in sets:
            rs = [r for r in rows if r["set"] == s]
            h5, mrr = metrics([fn([r["bm25"], r["dense"]]) for r in rs], [r["gold"] for r in rs])
            best_h5 = max(base[s]["bm25"][0], base[s]["dense"][0])
            best_mrr = max(base[s]["bm25"][1], base[s]["dense"][1])
            per[s] = {"hit@5": h5, "mrr@10": mrr, "d_hit@5": h5 - best_h5, "d_mrr@10": mrr - best_mrr}
        worst = min(min(p["d_hit@5"], p["d_mrr@10"]) for p in per.values())
        mean = sum(p["hit@5"] + p["mrr@10"] for p in per.values()) / (2 * len(per))
        out.append({"config": name, "worst_margin": worst, "mean": mean, "sets": per})
    out.sort(key=lambda r: (r["worst_margin"] >= -1e-9, r["mean"] if r["worst_margin"] >= -1e-9 else r["worst_margin"]),
             reverse=True)
    return [{"baseline": base}, *out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(default_shared()))
    ap.add_argument("--sets", default=",".join(SET_NAMES))
    ap.add_argument("--index-prefix", default="lore-eval-keep-")
    ap.add_argument("--embed-cache")
    ap.add_argument("--depth", type=int, default=200)
    ap.add_argument("--rows", help="reuse the candidate lists saved by earlier runs (comma-separated files; "
                                   "no Elasticsearch)")
    ap.add_argument("--out", default="bench/out/fusion-sweep.json")
    args = ap.parse_args()
    settings = Settings.from_env()
    if args.rows:
        rows = [r for p in args.rows.split(",") for r in json.loads(Path(p).read_text())]
    else:
        rows = fetch(settings, args)
        Path(args.out).with_suffix(".rows.json").write_text(json.dumps(rows))
    result = sweep(rows)
    Path(args.out).write_text(json.dumps(result, indent=1))
    base = result[0]["baseline"]
    print("legs:", {s: {leg: [round(x, 3) for x in v] for leg, v in b.items()} for s, b in base.items()})
    for r in result[1:16]:
        cells = " ".join(f"{s}:{p['hit@5']:.3f}/{p['mrr@10']:.3f}" for s, p in r["sets"].items())
        print(f"{r['config']:<28} worst {r['worst_margin']:+.3f} mean {r['mean']:.3f}  {cells}")


if __name__ == "__main__":
    main()
