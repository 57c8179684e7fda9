"""Sync benchmark: the whole 553-page sample wiki through the Confluence stand-in into a throw-away index.

Reports a full sync end to end (pages/s, the share of time spent in Embedder.encode, peak memory), then an
unchanged full re-sync and an unchanged incremental sync (their time and embedding calls: must be 0).
The stand-in runs in this process, so its HTTP handling shares the 2 cores with the model: a real Confluence
adds network latency instead.

    python bench/sync.py [--wiki ../shared/data/wiki/hyperledger-toc.jsonl] [--json out.json]

`--wiki` may name a smaller file of the same shape, if it keeps the pages tests/standins/confluence_seed.py needs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.confluence import ConfluenceClient  # noqa: E402
from backend.embeddings import Embedder  # noqa: E402
from backend.es import connect  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.spaces import SpaceConfig, SpaceStore  # noqa: E402
from connector.confluence.source import ConfluenceSource  # noqa: E402
from connector.report import SyncReport  # noqa: E402
from connector.runner import SyncOptions, SyncRunner  # noqa: E402
from tests.standins.confluence_app import ConfluenceState, serve  # noqa: E402
from tests.standins.confluence_seed import SPACES, seed_from_wiki  # noqa: E402

DATA = Path(os.environ.get("LORE_SHARED_DATA") or REPO.parent / "shared" / "data")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run(runner: SyncRunner, keys: list[str], full: bool, embedder: Embedder) -> tuple[SyncReport, dict]:
    calls, texts, embed_s = embedder.calls, embedder.texts, embedder.seconds
    started = time.perf_counter()
    report = runner.sync([SpaceConfig(k) for k in keys], full=full)
    seconds = time.perf_counter() - started
    pages = sum(r.pages for r in report.spaces)
    row = {
        "seconds": round(seconds, 2), "pages": pages, "pages_per_s": round(pages / seconds, 2),
        "documents": sum(r.added + r.updated for r in report.spaces),
        "unchanged": sum(r.unchanged for r in report.spaces), "chunks": sum(r.chunks for r in report.spaces),
        "skipped": sum(len(r.skipped) for r in report.spaces),
        "embedding_calls": embedder.calls - calls, "embedded_texts": embedder.texts - texts,
        "embedding_seconds": round(embedder.seconds - embed_s, 2),
        "embedding_share": round((embedder.seconds - embed_s) / seconds, 3) if seconds else 0.0,
        "status": sorted({r.status for r in report.spaces}), "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    return report, row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wiki", default=str(DATA / "wiki" / "hyperledger-toc.jsonl"))
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args()
    wiki = Path(args.wiki)
    if not wiki.is_file():
        print(f"wiki data not found at {wiki}: set LORE_SHARED_DATA to the shared data folder", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env()
    tag = uuid.uuid4().hex[:8]
    settings = replace(settings, es=replace(settings.es, index=f"lore-bench-sync-{tag}",
                                            config_index=f"lore-bench-sync-config-{tag}"))
    es = connect(settings.es)
    embedder = Embedder(settings.embed, settings.cache_dir)
    state = ConfluenceState()
    seed_from_wiki(state, wiki, recording=DATA / "audio" / "jfk.wav")
    keys = [k for k in SPACES if any(c.space == k for c in state.contents.values())]
    baseline_rss = peak_rss_mb()
    rows = {}
    try:
        with serve(state) as server:
            settings = replace(settings, confluence=server.settings())
            store = SpaceStore(es, settings.es)
            source = ConfluenceSource(ConfluenceClient(settings.confluence), settings.confluence)
            runner = SyncRunner(settings, es, embedder, source, store, options=SyncOptions.from_settings(settings))
            _, rows["full sync"] = run(runner, keys, True, embedder)
            _, rows["unchanged full re-sync"] = run(runner, keys, True, embedder)
            _, rows["unchanged incremental"] = run(runner, keys, False, embedder)
    finally:
        for name in es.indices.get(index=f"lore-bench-sync-*{tag}*", expand_wildcards="all"):
            es.indices.delete(index=name)
    pages = sum(1 for c in state.contents.values() if c.type == "page")
    result = {"wiki": str(wiki), "pages": pages, "spaces": keys, "model": settings.embed.model,
              "torch_threads": settings.embed.torch_threads, "rss_before_sync_mb": round(baseline_rss, 1),
              "runs": rows}
    print(f"{len(state.contents)} contents in {', '.join(keys)}; model {settings.embed.model}; "
          f"RSS before syncing {baseline_rss:.0f} MB")
    print(f"{'run':<24}{'seconds':>9}{'pages':>7}{'pages/s':>9}{'docs':>6}{'chunks':>8}{'embed calls':>13}"
          f"{'embed share':>13}{'peak RSS MB':>13}")
    for name, r in rows.items():
        print(f"{name:<24}{r['seconds']:>9.1f}{r['pages']:>7}{r['pages_per_s']:>9.1f}{r['documents']:>6}"
              f"{r['chunks']:>8}{r['embedding_calls']:>13}{r['embedding_share']:>13.0%}{r['peak_rss_mb']:>13.0f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    resync_calls = rows["unchanged full re-sync"]["embedding_calls"] + rows["unchanged incremental"]["embedding_calls"]
    if resync_calls:
        print(f"FAIL: the unchanged re-syncs made {resync_calls} embedding calls (must be 0)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
