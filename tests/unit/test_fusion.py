"""Reciprocal rank fusion and grouping per document."""

from __future__ import annotations

from backend.search import Hit, fuse, fuse_legs, group
from backend.settings import SearchSettings


def hit(cid: str, doc: str, snippet: str = "") -> Hit:
    return Hit(chunk_id=cid, doc_id=doc, title=doc, url="", text="", snippet=snippet, heading_path=[], score=0)


def test_a_chunk_found_by_both_legs_beats_one_found_by_one():
    bm25 = [hit("a#0", "a"), hit("b#0", "b", "<mark>x</mark>")]
    dense = [hit("b#0", "b"), hit("c#0", "c")]
    fused = fuse([bm25, dense], k=60)
    assert [h.chunk_id for h in fused] == ["b#0", "a#0", "c#0"]
    assert fused[0].snippet == "<mark>x</mark>"  # the highlighted copy is kept
    assert abs(fused[0].score - (1 / 62 + 1 / 61)) < 1e-12


def test_grouping_keeps_document_order_and_caps_documents():
    hits = [hit("a#0", "a"), hit("b#1", "b"), hit("a#3", "a"), hit("c#0", "c")]
    docs = group(hits, k=2)
    assert [(d.doc_id, [h.chunk_id for h in d.hits]) for d in docs] == [("a", ["a#0", "a#3"]), ("b", ["b#1"])]


def scored(cid: str, score: float) -> Hit:
    h = hit(cid, cid.split("#")[0])
    h.score = score
    return h


def test_a_hit_that_stands_out_in_its_leg_beats_the_top_of_a_close_pack():
    # BM25 finds page A far ahead of everything else; the dense leg's top hits are a close pack. Rank fusion
    # counted both rank-1 hits alike and put B, middling in both legs, first; the asker wanted A.
    bm25 = [scored("a#0", 12.0), scored("b#0", 3.0), scored("c#0", 2.9), scored("e#0", 2.8), scored("f#0", 2.7)]
    dense = [scored("d#0", 0.80), scored("g#0", 0.795), scored("b#0", 0.79), scored("h#0", 0.785)]
    docs = group(fuse_legs({"bm25": bm25, "dense": dense}, SearchSettings()), k=10)
    assert docs[0].doc_id == "a"
    # a page's weaker chunk ranks by its own fused score, never above its page's best one
    bm25 = [scored("a#0", 5.0), scored("b#0", 4.0), scored("a#1", 3.0)]
    fused = fuse_legs({"bm25": bm25, "dense": [scored("a#1", 0.9), scored("b#0", 0.5)]}, SearchSettings())
    assert [h.chunk_id for h in fused] == ["a#0", "a#1", "b#0"]


def test_the_answer_context_gets_passages_of_several_pages_not_every_chunk_of_the_first():
    # page a matched in ten chunks, most of them weakly; b's and c's best chunks beat a's weak ones
    weak = range(1, 10)
    bm25 = [scored("a#0", 9.0), scored("b#0", 6.0), scored("c#0", 5.5)] + [scored(f"a#{i}", 1.0) for i in weak]
    dense = [scored("a#0", 0.9), scored("b#0", 0.8), scored("c#0", 0.79)] + [scored(f"a#{i}", 0.5) for i in weak]
    fused = fuse_legs({"bm25": bm25, "dense": dense}, SearchSettings())
    assert [h.doc_id for h in fused[:3]] == ["a", "b", "c"]
    assert [d.doc_id for d in group(fused, k=10)] == ["a", "b", "c"]
