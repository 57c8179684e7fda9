"""Randomized permission audit (issue #8), long form: a few hundred random permission changes on the
Confluence stand-in, each followed by a sync, then what several readers can find through the ACL filter,
`/api/search` and `/api/ask`. Prints one line per step and the summary line the test prints.

    python bench/permission_audit.py [--steps 300] [--seed 20261129] [--full-every 5] [--kinds a,b] [--quiet]

Same walk as tests/integration/sync/test_permission_audit.py (tests/integration/sync/audit_walk.py), on the
same ~50-page subset of the sample wiki, in a throw-away index on the running Elasticsearch. Exits 1 when
a reader was shown something they should not see.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.embeddings import Embedder  # noqa: E402
from backend.es import connect  # noqa: E402
from backend.settings import Settings  # noqa: E402
from tests.integration.sync.audit_walk import Audit, audit_wiki  # noqa: E402
from tests.integration.sync.conftest import serving  # noqa: E402

DATA = Path(os.environ.get("LORE_SHARED_DATA") or REPO.parent / "shared" / "data")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--full-every", type=int, default=5, help="every Nth sync is a full one")
    ap.add_argument("--kinds", help="only these kinds of change, comma-separated (the ways back are kept), e.g. "
                    "admin_remove,admin_disable")
    ap.add_argument("--quiet", action="store_true", help="no per-step lines")
    args = ap.parse_args()
    # the API logs a warning per /api/ask while the LLM is (deliberately) down: keep the step log readable
    logging.basicConfig(level=logging.ERROR)
    settings = Settings.from_env(dotenv=None)
    tag = uuid.uuid4().hex[:8]
    settings = replace(settings, es=replace(settings.es, index=f"lore-bench-audit-{tag}",
                                            config_index=f"lore-bench-audit-config-{tag}"))
    es = connect(settings.es)
    embedder = Embedder(settings.embed, settings.cache_dir)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                serving(*audit_wiki(DATA, Path(tmp)), settings, es, embedder) as env:
            audit = Audit(env, args.seed, full_every=args.full_every, log=None if args.quiet else print,
                          kinds=args.kinds.split(",") if args.kinds else None)
            tally = audit.run(args.steps)
    finally:
        for name in es.indices.get(index=f"lore-bench-audit-*{tag}*", expand_wildcards="all"):
            es.indices.delete(index=name)
    print(tally.summary(args.seed) + f"; {time.perf_counter() - started:.0f} s")
    for line in audit.leak_report(examples=3):
        print(line)
    for line in tally.miss_examples[:10]:
        print("  miss after a full sync:", line)
    return 1 if tally.leaks or tally.misses_after_full else 0


if __name__ == "__main__":
    sys.exit(main())
