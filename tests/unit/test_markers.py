"""Completion markers: which documents of a pre-marker index can be trusted as whole, and what a marker holds."""

from __future__ import annotations

from backend.acl_update import access_fields
from backend.markers import MarkerDeriver, access_digest, marker_access_update, marker_source

OPEN = {"acl": ["public"], "ancestors": ["1"]}
HR = {"acl": ["public"], "acl_r1": ["confluence-group:hr"], "ancestors": ["1"]}


def chunk(doc: str, n: int, version: str = "3", access: dict = OPEN, parent: str | None = None) -> dict:
    return {"doc_id": doc, "chunk_no": n, "source": "confluence", "kind": "page", "space": "TOC",
            "version": version, "parent_id": parent, "url": "u", "updated": None, "text": "...", **access}


def derived(chunks: list[dict]) -> dict[str, dict]:
    deriver = MarkerDeriver()
    for c in chunks:
        deriver.add(c)
    return {m["doc_id"]: m for m in deriver.markers()}


def test_only_documents_whose_chunks_agree_get_a_marker_when_an_old_index_migrates() -> None:
    got = derived([
        chunk("whole", 0), chunk("whole", 1), chunk("whole", 2),
        chunk("stale-tail", 0), chunk("stale-tail", 1), chunk("stale-tail", 2, version="2"),
        chunk("gap", 0), chunk("gap", 2),
        chunk("no-chunk-0", 1), chunk("no-chunk-0", 2),
        chunk("acl-torn", 0, access=HR), chunk("acl-torn", 1, access=OPEN),
        chunk("single", 0, access=HR, parent="confluence:page:9"),
    ])

    assert set(got) == {"whole", "single"}
    assert got["whole"]["marker"]["chunks"] == 3 and got["whole"]["version"] == "3"
    assert got["single"]["parent_id"] == "confluence:page:9"
    assert got["single"]["marker"]["access"]["acl_r1"] == ["confluence-group:hr"]


def test_a_marker_is_never_a_search_hit_and_carries_the_access_outside_the_acl_fields() -> None:
    src = marker_source(chunk("d", 0, access=HR), 4, HR)

    assert src["chunk_no"] == -1 and src["marker"]["chunks"] == 4
    assert not {"acl", "acl_r1", "text", "title", "embedding", "heading_path"} & set(src)  # deny by default
    assert src["marker"]["acl_digest"] == access_digest(HR) != access_digest(OPEN)


def test_rewriting_access_nulls_the_levels_a_document_no_longer_has() -> None:
    update = marker_access_update(access_fields(["public"], [], ["1"]))

    assert update["marker"]["access"]["acl_r1"] is None  # a partial update merges: the old level must go
    assert update["marker"]["acl_digest"] == access_digest(OPEN)
