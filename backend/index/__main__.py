"""`python -m backend.index status|rebuild`: look at the chunk index, or start over for a new model."""

from __future__ import annotations

import argparse
import logging
import sys

from backend.errors import LoreError
from backend.settings import Settings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m backend.index", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="the alias, its index, model, dimensions and chunk count")
    rb = sub.add_parser("rebuild", help="new empty index for the configured model; then run a full sync")
    rb.add_argument("--yes", action="store_true", help="really drop the current index")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        from backend.es import connect
        from backend.index import schema
        from backend.markers import IS_MARKER

        settings = Settings.from_env()
        es = connect(settings.es)
        alias = settings.es.index
        if args.command == "status":
            name = schema.current_index(es, alias)
            if name is None:
                print(f"{alias}: no index yet (the first sync creates it)")
                return 0
            meta = schema.index_meta(es, name)
            markers = es.count(index=alias, query=IS_MARKER)["count"]
            count = es.count(index=alias)["count"] - markers
            print(f"{alias} -> {name}: {count} chunks of {markers} complete documents, "
                  f"model {meta.get('model')} ({meta.get('dims')} dims), "
                  f"analyzer {meta.get('analyzer')}, stemming {meta.get('stemming', 'none')}, "
                  f"schema v{meta.get('schema_version')}")
            return 0
        if not args.yes:
            print("This drops every indexed chunk; search is empty until a full sync. Add --yes to go on.")
            return 2
        from backend.embeddings import Embedder

        embedder = Embedder(settings.embed, settings.cache_dir)
        name = schema.rebuild(es, settings.es, embedder.dims, embedder.model_name)
        print(f"{alias} -> {name} (empty, {embedder.dims} dims). Now run: python -m connector sync --all --full")
        return 0
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
