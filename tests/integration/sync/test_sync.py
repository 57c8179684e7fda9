"""A full sync, the second sync of the stand-in's scenario, and who can read what afterwards, on the real index."""

from __future__ import annotations

from backend.search import Searcher
from tests.integration.sync.conftest import PDF_PHRASE, SPACES, SyncEnv
from tests.standins.confluence_seed import second_sync

HEADINGS_ONLY = "no text to index"


def expected_docs(env: SyncEnv) -> set[str]:
    """Every page, blog post and footer comment of the sample spaces, as document ids."""
    return {f"confluence:{c.type}:{c.id}" for c in env.state.contents.values()
            if c.space in SPACES and c.status == "current"}


def test_full_sync_indexes_every_page_blogpost_comment_and_readable_attachment(sync_env: SyncEnv) -> None:
    report = sync_env.sync(full=True)

    assert report.ok, report.render()
    indexed = sync_env.doc_ids()
    skipped = {s["id"]: s["reason"] for r in report.spaces for s in r.skipped}
    # every item is either indexed or listed as skipped with its reason: nothing disappears silently
    for doc_id in expected_docs(sync_env):
        assert doc_id in indexed or doc_id in skipped, doc_id
    pages_skipped = {d for d in skipped if ":page:" in d}
    assert all(HEADINGS_ONLY in skipped[d] for d in pages_skipped)  # only heading-only folder pages
    assert len(pages_skipped) < 10
    assert sum(r.total for r in report.spaces) == sum(
        1 for c in sync_env.state.contents.values() if c.type in ("page", "blogpost"))
    # comments are their own documents, linking to the page with the comment anchor
    comment = sync_env.seed.comments[0]
    chunk = next(c for c in sync_env.chunks().values() if c["doc_id"] == f"confluence:comment:{comment}")
    assert chunk["kind"] == "comment" and chunk["parent_id"].startswith("confluence:page:")
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    hit = searcher.search("should the charter link to the project lifecycle page", ["public"], k=5).docs
    assert any(d.doc_id == f"confluence:comment:{comment}" and f"#comment-{comment}" in d.url for d in hit)
    # attachment text is searchable and points at its page's attachment view
    found = searcher.search("how many voting members does the technical oversight committee have",
                            ["public"], k=5).docs
    pdf = f"confluence:attachment:{sync_env.seed.attachments['charter-summary.pdf']}"
    assert pdf in [d.doc_id for d in found]
    assert sync_env.settings.confluence.url in next(d.url for d in found if d.doc_id == pdf)
    # counts add up
    toc = report.space("TOC")
    assert toc.added == len({c["doc_id"] for c in sync_env.chunks().values() if c["space"] == "TOC"})
    assert toc.status == "ok" and toc.pages == toc.total and toc.pages_per_s > 0


def test_second_sync_applies_exactly_the_edits_moves_deletes_and_restriction_changes(sync_env: SyncEnv) -> None:
    assert sync_env.sync(full=True).ok
    before = sync_env.chunks()
    calls = sync_env.embedder.texts
    change = second_sync(sync_env.state)  # realistic: moves and restrictions do not bump versions

    report = sync_env.sync()  # the scheduled incremental sync

    assert report.ok, report.render()
    assert {r.mode for r in report.spaces} == {"incremental"}
    after = sync_env.chunks()
    docs_after = {c["doc_id"]: c for c in after.values()}
    changed = {f"confluence:page:{i}" for i in change.edited + change.moved + change.newly_restricted
               + change.deleted_pages + change.added}
    # edits: the new text is indexed under a new version
    for cid in change.edited:
        doc = docs_after.get(f"confluence:page:{cid}")
        if doc is None:  # a heading-only page stays skipped; its edit must then be reported, not lost
            continue
        assert doc["version"] == str(sync_env.state.contents[cid].version)
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    hits = searcher.search("the TOC approved this revision on the second sync day", ["public"], k=10).docs
    assert {f"confluence:page:{c}" for c in change.edited[:1]} <= {d.doc_id for d in hits}
    # a move under the restricted parent: the page now carries the parent's restriction and new ancestors
    moved = docs_after[f"confluence:page:{change.moved[0]}"]
    assert moved["acl_r1"] == ["confluence-group:toc-members"]
    assert sync_env.seed.restricted_root in moved["ancestors"]
    # a new restriction on an open page reaches the page (versions unchanged: no re-embedding for it)
    restricted = docs_after[f"confluence:page:{change.newly_restricted[0]}"]
    assert restricted["acl_r1"] == ["confluence-group:toc-members"]
    assert restricted["version"] == before_version(before, change.newly_restricted[0])
    # deletes and additions
    assert f"confluence:page:{change.deleted_pages[0]}" not in docs_after
    assert f"confluence:page:{change.added[0]}" in docs_after
    # nothing else moved: every other chunk is byte-for-byte what it was
    untouched_before = {k: v for k, v in before.items() if v["doc_id"] not in changed}
    untouched_after = {k: v for k, v in after.items() if v["doc_id"] not in changed}
    att = f"confluence:attachment:{change.deleted_attachments[0]}"
    assert {k: v for k, v in untouched_after.items() if v["doc_id"] != att} == \
        {k: v for k, v in untouched_before.items() if v["doc_id"] != att}
    # only the edited and added pages were embedded again (a handful of chunks, not the space)
    assert 0 < sync_env.embedder.texts - calls <= 12
    assert sum(r.permissions_updated for r in report.spaces) == 2

    # attachments deleted from an unchanged page show up in the weekly full pass, which deletes them
    weekly = sync_env.sync(full=True)
    assert weekly.ok and att not in sync_env.doc_ids()
    assert sum(r.deleted for r in weekly.spaces) == 1 and sum(r.embed_calls for r in weekly.spaces) == 0


def before_version(chunks: dict[str, dict], content_id: str) -> str:
    return next(c["version"] for c in chunks.values() if c["doc_id"] == f"confluence:page:{content_id}")


def test_a_reader_never_gets_a_chunk_they_may_not_read(sync_env: SyncEnv) -> None:
    assert sync_env.sync(full=True).ok
    second_sync(sync_env.state)
    assert sync_env.sync().ok
    # an attachment deleted from an unchanged page waits for the weekly full pass (see the test above); its
    # page's readers may still find it until then, which is staleness, not a leak: leave it out of the oracle
    stale = {d for d in sync_env.doc_ids() if not sync_env.exists(d)}
    assert len(stale) <= 1
    indexed = sync_env.doc_ids() - stale
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    restricted_titles = [sync_env.state.contents[i].title for i in sync_env.seed.restricted_ids]
    for name in ("alice", "bob", "carol", "dave"):
        ids = sync_env.identities(name)
        allowed = {d for d in indexed if sync_env.may_read(name, d)}
        # the ACL filter every search carries shows exactly what Confluence would show this user
        assert sync_env.visible_doc_ids(ids) & indexed == allowed, name
        # and the real search path never returns anything else, whatever the query
        for query in [*restricted_titles[:4], "security vulnerability disclosure", "TOC meeting minutes 2022",
                      "project quarterly report", "raising an issue"]:
            for mode in ("bm25", "hybrid"):
                got = {h.doc_id for h in searcher.search(query, ids, k=20, mode=mode).hits} - stale
                assert got <= allowed, (name, query, got - allowed)
    # the interesting cases, spelled out: a child of the restricted parent, a single-user page, a moved page
    child = f"confluence:page:{sync_env.seed.restricted_ids[1]}"
    assert child in indexed
    assert child in sync_env.visible_doc_ids(sync_env.identities("alice"))
    assert child not in sync_env.visible_doc_ids(sync_env.identities("bob"))
    only_carol = f"confluence:page:{sync_env.seed.user_restricted_id}"
    assert {n for n in ("alice", "bob", "carol") if only_carol in sync_env.visible_doc_ids(sync_env.identities(n))} \
        == {"carol"}
    pdf = f"confluence:attachment:{sync_env.seed.attachments['charter-summary.pdf']}"
    assert pdf in sync_env.visible_doc_ids(sync_env.identities("bob"))
    assert pdf in [d.doc_id for d in searcher.search(PDF_PHRASE, sync_env.identities("bob"), k=5).docs]
    assert not searcher.search(PDF_PHRASE, [], k=5).docs  # no identities: nothing at all


def test_unchanged_resync_makes_zero_embedding_calls_and_fetches_no_bodies(sync_env: SyncEnv) -> None:
    assert sync_env.sync(full=True).ok
    before = sync_env.chunks()
    calls = sync_env.embedder.calls
    requests_before = len(sync_env.state.requests)

    full = sync_env.sync(full=True)
    incremental = sync_env.sync()

    assert full.ok and incremental.ok
    assert sync_env.embedder.calls == calls
    assert sync_env.chunks() == before
    assert all(r.added == r.updated == r.deleted == 0 for r in full.spaces + incremental.spaces)
    assert sum(r.unchanged for r in full.spaces) == len({c["doc_id"] for c in before.values()})
    paths = [r.path for r in sync_env.state.requests[requests_before:]]
    # no page body was read again and no attachment downloaded again (skipped ones included)
    assert not [p for p in paths if "/download" in p]
    assert not [r for r in sync_env.state.requests[requests_before:]
                if "body.storage" in r.query.get("expand", "") and "/child/" not in r.path]


def test_space_indexing_unrestricted_content_only(sync_env: SyncEnv) -> None:
    from backend.spaces import SpaceConfig

    sync_env.store.add_space(SpaceConfig("MEET", unrestricted_only=True))
    report = sync_env.sync("MEET", full=True)
    meet = report.space("MEET")
    restricted = {f"confluence:page:{i}" for i in sync_env.seed.restricted_ids}
    assert meet.status == "ok"
    assert not restricted & sync_env.doc_ids()
    reasons = {s["id"]: s["reason"] for s in meet.skipped}
    assert all("unrestricted content only" in reasons[d] for d in restricted)
    change = second_sync(sync_env.state)
    assert f"confluence:page:{change.moved[0]}" in sync_env.doc_ids()

    assert sync_env.sync("MEET").ok
    # the page moved under the restricted parent is restricted now: it leaves the index
    assert f"confluence:page:{change.moved[0]}" not in sync_env.doc_ids()
