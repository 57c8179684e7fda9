"""Syncs that go wrong: killed halfway, throttled, served 500s, a listing that comes back short, an expired token."""

from __future__ import annotations

import time

import pytest

from backend.spaces import SpaceConfig, SpaceStore
from connector.runner import Progress
from tests.integration.sync.conftest import SPACES, SyncEnv


class Killed(Exception):
    """Stands for the process dying between two batches."""


def test_a_sync_killed_halfway_and_restarted_ends_in_the_same_state_as_an_uninterrupted_one(
        sync_env: SyncEnv, second_index) -> None:
    reference = second_index("ref")
    ref_store = SpaceStore(sync_env.es, reference.es)
    for key in SPACES:
        ref_store.add_space(SpaceConfig(key))
    assert sync_env.runner(settings=reference, batch_size=4).sync(
        [SpaceConfig(k) for k in SPACES], full=True).ok
    expected = sync_env.chunks(reference)

    def die_in_meet(p: Progress) -> None:
        if p.space == "MEET" and p.phase == "indexing" and p.batches == 2:
            raise Killed

    with pytest.raises(Killed):
        sync_env.sync(full=True, progress=die_in_meet, batch_size=4)
    interrupted = sync_env.store.get_state("MEET")
    assert interrupted.in_progress and interrupted.resume_from and interrupted.mode == "full"
    partial = sync_env.chunks()
    assert 0 < len(partial) < len(expected)
    texts = sync_env.embedder.texts

    report = sync_env.sync(batch_size=4)  # the next scheduled run, no --full: it finishes the full pass

    assert report.ok, report.render()
    meet = report.space("MEET")
    assert meet.resumed and meet.mode == "full" and "resumed" in " ".join(meet.notes)
    assert sync_env.chunks() == expected  # same documents, versions, chunk ids, text and permissions
    # what was indexed before the crash was not embedded again
    assert sync_env.embedder.texts - texts <= len(expected) - len(partial)
    assert not sync_env.store.get_state("MEET").in_progress


def test_a_429_storm_slows_the_sync_down_but_it_completes(sync_env: SyncEnv) -> None:
    retry = {"Retry-After": "1"}  # honoured, capped at 0.5 s by the test's backoff cap
    faults = [sync_env.state.inject("/rest/api/content/search", 429, count=3, headers=retry),
              sync_env.state.inject("/child/comment", 429, count=4, headers=retry),
              sync_env.state.inject("/child/attachment?", 429, count=4, headers=retry),
              sync_env.state.inject("expand=body.storage", 429, count=5, headers=retry, method="GET"),
              sync_env.state.inject("/rest/api/space/", 503, count=2, headers=retry)]
    client = sync_env.client()
    started = time.monotonic()

    report = sync_env.sync(full=True, client=client)

    assert report.ok, report.render()
    throttled = [r for r in sync_env.state.requests if r.status in (429, 503)]
    assert len(throttled) == sum(f for f in (3, 4, 4, 5, 2)) and all(f.count == 0 for f in faults)
    assert sum(client.retries.values()) >= len(throttled)
    assert time.monotonic() - started >= 0.5 * len(throttled)  # it waited as told
    indexed = sync_env.doc_ids()
    pages = {f"confluence:page:{i}" for i in sync_env.seed.page_ids.values()}
    skipped = {s["id"] for r in report.spaces for s in r.skipped}
    assert pages <= indexed | skipped


def test_a_500_on_a_listing_never_deletes_indexed_documents(sync_env: SyncEnv) -> None:
    assert sync_env.sync(full=True).ok
    before = sync_env.chunks()
    # one 500: retried, the sync completes, nothing lost
    sync_env.state.inject("/rest/api/content/search", 500, count=1)
    assert sync_env.sync(full=True).ok
    assert sync_env.chunks() == before
    # a listing that keeps failing: the space sync fails and says why, the index is untouched
    sync_env.state.inject("/rest/api/content/search", 500, count=1000)
    report = sync_env.sync(full=True)
    assert not report.ok
    assert all(r.status == "failed" and "HTTP 500" in r.last_error for r in report.spaces)
    assert sync_env.chunks() == before
    assert "HTTP 500" in sync_env.store.get_state("TOC").last_error
    sync_env.state.faults.clear()
    # the comments listing of one page fails while one of its comments was deleted: that page's comments stay
    charter = sync_env.seed.page_ids["governing-documents/charter.md"]
    gone_comment = sync_env.seed.comments[0]
    sync_env.state.delete(gone_comment)
    sync_env.state.inject(f"/rest/api/content/{charter}/child/comment", 500, count=1000)
    report = sync_env.sync("TOC", full=True)
    toc = report.space("TOC")
    assert toc.status == "partial" and any(f"confluence:page:{charter}" == e["id"] for e in toc.errors)
    assert f"confluence:comment:{gone_comment}" in sync_env.doc_ids()
    # once the listing works again the deleted comment goes
    sync_env.state.faults.clear()
    assert sync_env.sync("TOC", full=True).ok
    assert f"confluence:comment:{gone_comment}" not in sync_env.doc_ids()


def test_a_listing_that_comes_back_short_is_not_allowed_to_empty_the_index(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    before = sync_env.doc_ids()
    meet_pages = [c.id for c in sync_env.state.contents.values() if c.space == "MEET" and c.type == "page"
                  and c.parent_id is not None]
    for cid in meet_pages:  # most of the space vanishes at once: more likely a wrong listing than real deletes
        if cid in sync_env.state.contents:
            sync_env.state.delete(cid)

    report = sync_env.sync("MEET", full=True, prune_min_guard=3)

    meet = report.space("MEET")
    assert meet.status == "partial" and "nothing was deleted" in meet.errors[0]["reason"]
    assert "--allow-mass-delete" in meet.errors[0]["reason"]
    assert sync_env.doc_ids() == before
    report = sync_env.sync("MEET", full=True, prune_min_guard=3, allow_mass_delete=True)
    assert report.ok and report.space("MEET").deleted >= len(meet_pages) // 2


def test_an_expired_token_fails_every_space_with_the_setting_to_fix(sync_env: SyncEnv) -> None:
    assert sync_env.sync("REP", full=True).ok
    before = sync_env.chunks()

    report = sync_env.sync(full=True, client=sync_env.client(api_token="expired-token"))

    assert not report.ok and [r.status for r in report.spaces] == ["failed"] * len(SPACES)
    for space in report.spaces:
        assert "LORE_CONFLUENCE_API_TOKEN" in space.last_error and "expired-token" not in space.last_error
    # one 401 is enough: the other spaces are not tried with the same token
    assert len([r for r in sync_env.state.requests if r.status == 401]) == 1
    assert sync_env.chunks() == before
