"""A document is indexed when ALL its chunks are: completion markers, bounded keywords, and the index
schema upgrade that derives markers for an index written before them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk, scan

from backend.index import analysis, schema
from backend.markers import IS_MARKER
from backend.search import Searcher
from tests.integration.sync.conftest import SyncEnv

SPACE = "REP"  # the smallest of the three: these tests sync it a few times


def sections(*pairs: tuple[str, str]) -> str:
    """A storage body of headed sections: the chunker starts a new chunk at every heading."""
    return "".join(f"<h2>{head}</h2><p>{body}</p>" for head, body in pairs)


V1 = sections(("Scope", "The furnace audit covers every kiln in the eastern annex."),
              ("Findings", "Obsolete finding: the quartz crucibles cracked during the winter firing."),
              ("Actions", "The annex team replaces the thermocouples before spring."),
              ("Archive", "Retired appendix: the pumice budget of the previous decade."))
V2 = sections(("Scope", "The furnace audit covers every kiln in the eastern annex."),
              ("Findings", "Current finding: the alumina liners held up through the summer firing."),
              ("Actions", "The annex team replaces the thermocouples before spring."))


class RefuseChunk:
    """Make Elasticsearch refuse exactly one chunk, the way it refuses a malformed document.

    Injected at the transport, on purpose: once keywords are bounded, no chunk this indexer writes is
    refused by the mapping any more, so a real refusal has to be provoked. The bulk request still goes to
    the real server; only that one chunk's `chunk_no` is turned into a word in flight, and the server
    answers that item with a genuine mapper_parsing_exception while accepting the others.
    """

    def __init__(self, url: str, chunk_id: str):
        self.chunk_id = chunk_id
        self.refused = 0
        self.es = Elasticsearch(url, request_timeout=30)
        transport = self.es.transport
        original = transport.perform_request

        def perform_request(method, target, *args, body=None, **kwargs):
            if "_bulk" in target and isinstance(body, list):
                body = self._corrupt(body)
            return original(method, target, *args, body=body, **kwargs)

        transport.perform_request = perform_request

    def _corrupt(self, lines: list) -> list:
        out = list(lines)
        for i, line in enumerate(out[:-1]):
            action = json.loads(line)
            if action.get("index", {}).get("_id") == self.chunk_id:
                source = json.loads(out[i + 1])
                source["chunk_no"] = "not-a-number"
                out[i + 1] = json.dumps(source)
                self.refused += 1
        return out


def texts_of(env: SyncEnv, doc_id: str) -> dict[str, str]:
    """chunk id -> text, straight from the index (no ACL filter: what any search could ever return)."""
    env.es.indices.refresh(index=env.settings.es.index)
    query = {"query": {"bool": {"filter": [{"term": {"doc_id": doc_id}}], "must_not": [IS_MARKER]}},
             "_source": ["text"]}
    return {h["_id"]: h["_source"]["text"] for h in scan(env.es, index=env.settings.es.index, query=query)}


def test_a_chunk_refused_mid_document_leaves_no_stale_text_and_the_next_sync_repairs_it(sync_env: SyncEnv) -> None:
    state = sync_env.state
    page = state.add_page(SPACE, "Kiln audit", V1, parent_id=sync_env.seed.homes[SPACE])
    doc = f"confluence:page:{page.id}"
    assert sync_env.sync(SPACE, full=True).ok
    assert len(texts_of(sync_env, doc)) == 4 and sync_env.markers()[doc]["marker"]["chunks"] == 4
    state.clock.advance(minutes=30)
    state.edit(page.id, body=V2)
    refusing = RefuseChunk(sync_env.settings.es.url, f"{doc}#1")

    report = replace(sync_env, es=refusing.es).sync(SPACE).space(SPACE)

    # the admin is told which chunk was refused and why
    assert refusing.refused == 1 and report.status == "partial"
    assert any(e["id"] == doc and f"{doc}#1" in e["reason"] and "chunk_no" in e["reason"] for e in report.errors)
    # no old text is left anywhere: neither the refused chunk's old content nor the old, longer tail
    texts = " ".join(texts_of(sync_env, doc).values())
    assert "quartz crucibles" not in texts and "pumice budget" not in texts
    assert "furnace audit" in texts and "thermocouples" in texts  # the accepted chunks of the new version
    reader = sync_env.identities("alice")
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    for query in ("quartz crucibles cracked winter firing", "pumice budget previous decade"):
        assert doc not in {h.doc_id for h in searcher.search(query, reader, k=10, mode="bm25").hits}
    assert doc not in sync_env.markers()  # not complete: the next sync must index it again
    calls = sync_env.embedder.texts

    repaired = sync_env.sync(SPACE).space(SPACE)

    assert repaired.status == "ok", repaired.render()
    assert sync_env.markers()[doc]["version"] == str(state.contents[page.id].version)
    assert sync_env.markers()[doc]["marker"]["chunks"] == 3
    assert "alumina liners" in texts_of(sync_env, doc)[f"{doc}#1"]
    assert sync_env.embedder.texts - calls == 3  # that document alone was embedded again
    hits = searcher.search("alumina liners summer firing", reader, k=5, mode="bm25").hits
    assert hits and hits[0].doc_id == doc


def test_a_page_with_a_40_kb_heading_is_indexed_and_the_cursor_moves_on(sync_env: SyncEnv) -> None:
    assert sync_env.sync(SPACE, full=True).ok
    state = sync_env.state
    state.clock.advance(hours=2)
    heading = " ".join(f"clause{i:05d}" for i in range(4000))  # 4,000 x 10 characters: 40 KB in one heading
    page = state.add_page(SPACE, "Procurement terms", sections(
        (heading, "The supplier ships the basalt tiles within nine working days."),
        ("Payment", "Invoices are settled in two instalments.")), parent_id=sync_env.seed.homes[SPACE])
    doc = f"confluence:page:{page.id}"

    report = sync_env.sync(SPACE).space(SPACE)

    assert report.status == "ok" and not report.errors, report.render()
    written = [c for c in sync_env.chunks().values() if c["doc_id"] == doc]
    assert sync_env.markers()[doc]["marker"]["chunks"] == len(written) >= 2  # complete: marker matches chunks
    cursor = datetime.fromisoformat(sync_env.store.get_state(SPACE).last_modified)
    assert cursor >= state.contents[page.id].when
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    hit = searcher.search("basalt tiles nine working days", sync_env.identities("alice"), k=5, mode="bm25").hits[0]
    # a "heading" that long is body text to the chunker (backend/chunking.py caps headings), so it is searchable
    # text and never a keyword term; the mapping's ignore_above is the second line of defence
    assert hit.doc_id == doc and heading not in hit.heading_path
    assert sync_env.sync(SPACE).space(SPACE).unchanged >= 1  # settled: the next run leaves it alone


def test_an_index_from_before_markers_migrates_without_re_embedding_what_is_whole(sync_env: SyncEnv) -> None:
    es, alias = sync_env.es, sync_env.settings.es.index
    assert sync_env.sync(SPACE, full=True).ok
    current = schema.current_index(es, alias)
    chunks = sync_env.chunks()
    whole, torn = sorted({c["doc_id"] for c in chunks.values() if c["kind"] == "page"})[:2]
    # the index as the schema-1 code left it: chunks only, no markers; one document still carries the
    # tail chunk of a longer old version that a failed write never removed (its chunk 0 says "fine")
    body = schema.index_body(sync_env.settings.es, sync_env.embedder.dims, "lore_text", sync_env.embedder.model_name)
    del body["mappings"]["properties"]["marker"]
    body["mappings"]["_meta"]["schema_version"] = 1
    old = f"{alias}-v1-0"
    es.indices.create(index=old, body=body)
    hits = scan(es, index=current, query={"query": {"bool": {"must_not": IS_MARKER}}}, _source_exclude_vectors=False)
    # (a schema-1 index had no *_stems fields either: those came with schema 3)
    actions = [{"_index": old, "_id": h["_id"],
                "_source": {k: v for k, v in h["_source"].items() if k not in analysis.STEM_FIELDS.values()}}
               for h in hits]
    stale = next(a for a in actions if a["_source"]["doc_id"] == torn and a["_source"]["chunk_no"] == 0)
    actions.append({"_index": old, "_id": f"{torn}#7",
                    "_source": {**stale["_source"], "chunk_no": 7, "version": "0", "text": "outdated lorem tail"}})
    bulk(es, actions, refresh=True)
    es.indices.update_aliases(actions=[{"remove": {"index": current, "alias": alias}},
                                       {"add": {"index": old, "alias": alias}}])
    es.indices.delete(index=current)
    calls = sync_env.embedder.texts

    report = sync_env.sync(SPACE).space(SPACE)  # ensure_index migrates to the current schema first

    assert report.status == "ok", report.render()
    assert schema.current_index(es, alias).startswith(f"{alias}-v{schema.SCHEMA_VERSION}-")
    markers = sync_env.markers()
    assert set(markers) == {c["doc_id"] for c in chunks.values()}  # every document is complete again
    assert markers[whole]["version"] == chunks[f"{whole}#0"]["version"]
    assert f"{torn}#7" not in sync_env.chunks()  # the torn one was indexed again and its tail removed
    # only the torn document was embedded again, not the space
    assert sync_env.embedder.texts - calls == sum(1 for c in chunks.values() if c["doc_id"] == torn)
    assert "1 documents were incomplete" in " ".join(report.notes)
