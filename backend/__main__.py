"""`python -m backend search|ask "..."`: Lore from the command line, as a given reader."""

from __future__ import annotations

import argparse
import html
import logging
import os
import re
import sys

from backend.documents import PUBLIC
from backend.errors import LoreError
from backend.settings import Settings

_MARK = re.compile(r"</?mark>")


def _plain(snippet: str) -> str:
    return html.unescape(_MARK.sub("*", snippet))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("search", "ask"):
        p = sub.add_parser(name)
        p.add_argument("text")
        p.add_argument("--as", dest="identities", default=PUBLIC,
                       help="comma-separated ACL identities of the reader (default: public), e.g. "
                            "public,confluence-user:<accountId>,confluence-group:<name>")
        p.add_argument("--user-email", help="resolve the reader from Confluence by email instead of --as")
        if name == "search":
            p.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "hybrid"])
            p.add_argument("--k", type=int, default=5)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in a CLI answer
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("elastic_transport", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        from backend.embeddings import Embedder
        from backend.es import connect
        from backend.search import Searcher

        es = connect(settings.es)
        searcher = Searcher(es, settings, Embedder(settings.embed, settings.cache_dir))
        identities = _identities(args, settings)
        if args.command == "search":
            result = searcher.search(args.text, identities, k=args.k, mode=args.mode)
            if not result.docs:
                print("No pages you can read match this search.")
            for i, d in enumerate(result.docs, start=1):
                print(f"{i}. {d.title}  {d.url}\n   {_plain(d.snippet)}")
            return 0
        from backend.answers import Answerer
        from backend.llm import LLMClient

        answer = Answerer(settings, searcher, LLMClient(settings.llm)).ask(args.text, identities)
        if answer.notice:
            print(f"({answer.notice})\n")
        print(answer.text.strip() or "(no answer text)")
        if answer.sources:
            print("\nSources:")
            for s in answer.sources:
                print(f"  [{s.n}] {s.title}  {s.url}")
        t = answer.timings
        print(f"\n({answer.status}; retrieval {t.get('retrieval_ms', 0):.0f} ms, "
              f"total {t.get('total_ms', 0):.0f} ms)")
        return 0
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _identities(args: argparse.Namespace, settings: Settings) -> list[str]:
    if not args.user_email:
        return [i.strip() for i in args.identities.split(",") if i.strip()]
    from backend.confluence.client import ConfluenceClient
    from backend.identity import IdentityResolver

    return list(IdentityResolver(ConfluenceClient(settings.confluence), settings.api.identity_cache_seconds)
                .resolve(args.user_email))


if __name__ == "__main__":
    sys.exit(main())
