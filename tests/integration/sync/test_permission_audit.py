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
from tests.integration.answer_corpus import small_llm
from tests.integration.sync.audit_walk import Audit, audit_wiki
from tests.integration.sync.conftest import SyncEnv, serving

STEPS = int(os.environ.get("LORE_AUDIT_STEPS", "20"))  # ~30 s here; the bench runs a few hundred
SEED = int(os.environ.get("LORE_AUDIT_SEED", "20261129"))
# e.g. LORE_AUDIT_KINDS=admin_remove,admin_disable: only these kinds (and their ways back), one fix at a time
KINDS = [k for k in os.environ.get("LORE_AUDIT_KINDS", "").split(",") if k] or None
FULL_EVERY = 5  # every fifth sync is a full one (the daily full pass, compressed)


@pytest.fixture
def audit_env(shared_data: Path, tmp_path: Path, isolated_settings: Settings, es: Elasticsearch,
              embedder: Embedder) -> Iterator[SyncEnv]:
    with serving(*audit_wiki(shared_data, tmp_path), isolated_settings, es, embedder) as env:
        yield env


def test_random_permission_changes_never_show_a_reader_what_they_may_not_read(audit_env: SyncEnv) -> None:
    audit = Audit(audit_env, SEED, full_every=FULL_EVERY, kinds=KINDS)
    tally = audit.run(STEPS)

    print("\n" + tally.summary(SEED))
    report = "\n".join([tally.summary(SEED), *audit.leak_report(), *tally.miss_examples[:10]])
    assert tally.searches and tally.asks and tally.scans, report  # the walk really queried
    assert not tally.leaks, report
    # right after a full sync, everything a reader may read (and the sync account can vouch for) is findable
    assert tally.misses_after_full == 0, report


def test_answers_from_the_real_model_cite_only_what_the_asker_may_read(audit_env: SyncEnv) -> None:
    """A handful of asks with the real LLM server (the 0.5B model): a page restricted after the first sync
    is among alice's sources and never among bob's, in a plain question and in a follow-up the model
    rewrites."""
    # no health probe first: the shared server answers its 3-second probe late while it writes for someone
    # else; the asks wait for it (small_llm: up to 240 s), and the first assertion says whether it wrote
    audit = Audit(audit_env, SEED, llm=small_llm(audit_env.settings).llm)
    audit.start()
    state, seed = audit_env.state, audit_env.seed
    charter = seed.page_ids["governing-documents/charter.md"]  # TOC: readable by everyone, anonymous included
    state.restrict(charter, groups={"toc-members"})  # alice is a member, bob is not; the sync account is
    audit.sync(full=False)
    # the page, its comments, its attachment (the charter summary PDF) and any child page follow its restriction
    restricted = {d for d, item in audit.oracle.documents().items()
                  if charter in [item.id, *(a.id for a in state.ancestors(item))]}
    assert len(restricted) >= 3
    question = "What does the Hyperledger TOC charter say about the Technical Oversight Committee?"

    for_alice = audit.answer(audit.reader("alice"), question)
    for_bob = audit.answer(audit.reader("bob"), question)
    follow_up = audit.answer(audit.reader("bob"), "Who approves changes to it?", history=[
        {"role": "user", "content": question}, {"role": "assistant", "content": for_bob["text"] or "I don't know."}])

    assert for_alice["timings"]["first_token_ms"] is not None, for_alice  # the model really wrote
    assert restricted & {s["doc_id"] for s in for_alice["sources"]}, for_alice["sources"]
    for answer in (for_bob, follow_up):
        shown = {s["doc_id"] for s in answer["sources"]} | {c["doc_id"] for c in answer["citations"]}
        assert not restricted & shown, answer
        assert all(audit.oracle.verdict(audit.reader("bob"), d) == "ok" for d in shown), answer
