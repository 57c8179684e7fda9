"""Reciprocal rank fusion and grouping per document."""

from __future__ import annotations

from backend.search import Hit, fuse, group


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
