"""Randomized permission audit (issue #8): random restriction changes, moves, group changes and space
removals on the Confluence stand-in, each followed by a sync; after every step nobody finds, through the
search's ACL filter, `/api/search` or `/api/ask`, anything the stand-in says they may not read.

    LORE_AUDIT_STEPS=300 LORE_AUDIT_SEED=7 bash infra/local/test.sh tests/integration/sync/test_permission_audit.py
    python bench/permission_audit.py --steps 300     # the same walk, with a per-step log

The default walk is short (the suite runs on 2 shared cores); the seed is fixed so a failure replays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from backend.embeddings import Embedder
from backend.settings import Settings
from tests.integration.sync.audit_walk import Audit, audit_wiki
from tests.integration.sync.conftest import SyncEnv, serving

STEPS = int(os.environ.get("LORE_AUDIT_STEPS", "20"))  # ~30 s here; the bench runs a few hundred
SEED = int(os.environ.get("LORE_AUDIT_SEED", "20261129"))
FULL_EVERY = 5  # every fifth sync is a full one (the daily full pass, compressed)


@pytest.fixture
def audit_env(shared_data: Path, tmp_path: Path, isolated_settings: Settings, es: Elasticsearch,
              embedder: Embedder) -> Iterator[SyncEnv]:
    with serving(*audit_wiki(shared_data, tmp_path), isolated_settings, es, embedder) as env:
        yield env


def test_random_permission_changes_never_show_a_reader_what_they_may_not_read(audit_env: SyncEnv) -> None:
    audit = Audit(audit_env, SEED, full_every=FULL_EVERY)
    tally = audit.run(STEPS)

    print("\n" + tally.summary(SEED))
    report = "\n".join([tally.summary(SEED), *audit.leak_report(), *tally.miss_examples[:10]])
    assert tally.searches and tally.asks and tally.scans, report  # the walk really queried
    assert not tally.leaks, report
    # right after a full sync, everything a reader may read (and the sync account can vouch for) is findable
    assert tally.misses_after_full == 0, report
