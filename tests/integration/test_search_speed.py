"""The faster search path (bench/search-latency.md) on the real Elasticsearch and embedding model: a repeated
question skips the model, and hybrid search shows exactly what fusing its two legs shows."""

from __future__ import annotations

import uuid

from backend.documents import PUBLIC, Document
from backend.search import fuse_legs, group

PAGES = [
    ("conf:page:parking", "Parking garage rules",
     "# Access\nThe parking garage opens at 6am. Badges are required after 8pm.\n# Bikes\nBikes go to level -2."),
    ("conf:page:travel", "Travel policy", "Book trains for trips under four hours. Flights need approval."),
    ("conf:page:onboarding", "Onboarding", "New hires get a badge on day one and a parking spot after a month."),
    ("conf:page:canteen", "Canteen", "Lunch is served from noon. The canteen closes at 2pm on Fridays."),
    ("conf:page:security", "Security", "Report a lost badge to security at once; it is blocked within the hour."),
]


def index_pages(make_indexer, words: str = ""):
    indexer, searcher = make_indexer()
    indexer.index_documents([Document(id=i, title=t, text=f"{x} {words}".strip(), acl=[PUBLIC],
                                      url=f"https://wiki.example/{i}") for i, t, x in PAGES])
    indexer.refresh()
    return searcher


def shown(result) -> list:
    """What a user sees of a result: pages in order, each with its passages, snippets and text."""
    return [(d.doc_id, d.title, d.url, d.snippet, [(h.chunk_id, h.snippet, h.text, h.heading_path) for h in d.hits])
            for d in result.docs]


def test_a_repeated_question_reuses_its_query_vector_and_finds_the_same_pages(make_indexer, embedder):
    searcher = index_pages(make_indexer)
    question = f"when does the parking garage open (ticket {uuid.uuid4().hex[:6]})"  # asked by no other test
    first = searcher.search(question, [PUBLIC], mode="hybrid")
    calls = embedder.calls
    again = searcher.search(question, [PUBLIC], mode="hybrid")
    assert embedder.calls == calls  # the model was not asked again
    assert first.docs[0].doc_id == "conf:page:parking"
    assert shown(again) == shown(first)
    # a different question is encoded, not answered from the cache
    searcher.search(f"{question} for bikes", [PUBLIC], mode="dense")
    assert embedder.calls == calls + 1


def test_hybrid_shows_what_fusing_its_two_legs_shows_and_nothing_of_the_pages_it_leaves_out(make_indexer):
    searcher = index_pages(make_indexer)
    for question, k in [("parking badge", 2), ("lost badge security", 3), ("what time does lunch start", 10)]:
        legs = {m: searcher.search(question, [PUBLIC], mode=m).hits for m in ("bm25", "dense")}
        expected = group(fuse_legs(legs, searcher.s), k)
        result = searcher.search(question, [PUBLIC], k=k, mode="hybrid")
        assert shown(result) == [(d.doc_id, d.title, d.url, d.snippet,
                                  [(h.chunk_id, h.snippet, h.text, h.heading_path) for h in d.hits]) for d in expected]
        assert any("<mark>" in d.snippet for d in result.docs), question  # snippets mark the asker's words
        # the result's chunks are those of the pages it shows: nothing fetched for pages below k
        assert {h.doc_id for h in result.hits} == {d.doc_id for d in result.docs}
        assert len(result.docs) == min(k, len(PAGES))


def test_a_repeated_question_is_served_from_the_request_cache_until_the_index_changes(make_indexer, es):
    searcher = index_pages(make_indexer)

    def cache_hits() -> int:
        stats = es.indices.stats(index=searcher.alias, metric="request_cache")
        return stats["_all"]["total"]["request_cache"]["hit_count"]

    first = searcher.search("lost badge security", [PUBLIC], mode="hybrid")
    before = cache_hits()
    again = searcher.search("lost badge security", [PUBLIC], mode="hybrid")
    # the BM25 leg answered from the cache (a kNN search runs in a phase the request cache does not keep)
    assert cache_hits() == before + 1
    assert shown(again) == shown(first)
    # a change becomes visible at the next refresh: the cache never serves a stale answer
    stale = searcher.search("lost badge security", [PUBLIC], mode="bm25")  # cached from here on
    assert "conf:page:badges" not in [d.doc_id for d in stale.docs]
    indexer = make_indexer()[0]
    indexer.index_documents([Document(id="conf:page:badges", title="Lost badge security desk",
                                      text="Lost badge? The security desk replaces a lost badge in minutes.",
                                      acl=[PUBLIC], url="https://wiki.example/badges")])
    indexer.refresh()
    # the BM25 leg alone (the kNN leg is never cached, so only BM25 could serve a stale list)
    bm25 = searcher.search("lost badge security", [PUBLIC], mode="bm25")
    assert "conf:page:badges" in [d.doc_id for d in bm25.docs[:3]]
    assert "conf:page:badges" in [d.doc_id for d in searcher.search("lost badge security", [PUBLIC]).docs]
