"""English stemming on the local Elasticsearch, which has no `english` analyzer: what a searcher notices."""

from __future__ import annotations

from dataclasses import replace

from backend.documents import PUBLIC, Document
from backend.index import analysis, schema


def stemming(settings):
    """LORE_ES_ANALYZER=auto: stems computed in Python where the node has no `english` analyzer."""
    return replace(settings, es=replace(settings.es, analyzer="auto"))


def test_bm25_finds_other_forms_of_the_words_and_says_how_it_stems(make_indexer, es, isolated_settings):
    indexer, searcher = make_indexer(stemming(isolated_settings))
    indexer.index_documents([
        Document(id="d:bert", title="Model notes", text="BERT's tokenizer splits rare words into pieces.",
                 acl=[PUBLIC]),
        Document(id="d:tsc", title="Governance", text="The TSC meetings elected two maintainers in March.",
                 acl=[PUBLIC]),
        Document(id="d:other", title="Parking", text="The garage opens at six; bikes go to the basement.",
                 acl=[PUBLIC]),
    ])
    indexer.refresh()
    # the words as a user types them, in another form than the page has them
    assert searcher.search("BERT tokenizers", [PUBLIC], mode="bm25").docs[0].doc_id == "d:bert"
    found = searcher.search("TSC meeting that elects a maintainer", [PUBLIC], mode="bm25")
    assert found.docs[0].doc_id == "d:tsc"
    assert "<mark>TSC</mark>" in found.docs[0].snippet  # the snippet still marks the words as the asker typed them
    # the index records the path it took, and on this node (no analysis-common) it is the Python one
    name = schema.current_index(es, isolated_settings.es.index)
    assert schema.index_meta(es, name)["stemming"] == analysis.PYTHON


def test_an_index_from_before_stemming_gets_it_on_migration_without_re_embedding(
        make_indexer, es, isolated_settings, embedder):
    alias = isolated_settings.es.index
    old = schema.new_index_name(alias, 2)
    body = schema.index_body(isolated_settings.es, embedder.dims, analysis.PLAIN_ANALYZER, embedder.model_name)
    # the _meta of a v2 index: no `stemming` yet
    body["mappings"]["_meta"] = {"schema_version": 2, "model": embedder.model_name, "dims": embedder.dims,
                                 "analyzer": analysis.PLAIN_ANALYZER}
    es.indices.create(index=old, body=body)
    es.indices.put_alias(index=old, name=alias)
    vector = embedder.encode(["Governance\nThe TSC meetings elected two maintainers."])[0].tolist()
    es.index(index=alias, id="d:tsc#0", refresh=True, document={
        "doc_id": "d:tsc", "chunk_no": 0, "title": "Governance", "heading_path": [], "source": "eval",
        "text": "The TSC meetings elected two maintainers.", "acl": [PUBLIC], "embedding": vector})
    calls = embedder.calls
    _, searcher = make_indexer(stemming(isolated_settings))  # ensure_index() sees schema v2 and migrates
    assert schema.current_index(es, alias) != old
    assert searcher.search("maintainer election", [PUBLIC], mode="bm25").docs[0].doc_id == "d:tsc"
    assert embedder.calls == calls  # the migration copied the vector: nothing was embedded again
    assert searcher.search("who was voted in", [PUBLIC], mode="dense").docs[0].doc_id == "d:tsc"
