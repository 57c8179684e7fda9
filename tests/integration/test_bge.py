"""bge-small-en-v1.5 (int8 ONNX from Maven Central) as the embedder: search works end to end with it."""

from __future__ import annotations

from dataclasses import replace

from backend.documents import PUBLIC, Document
from backend.embeddings import Embedder
from backend.indexer import Indexer
from backend.search import Searcher


def test_bge_small_indexes_and_finds_a_paraphrased_question(es, isolated_settings):
    s = replace(isolated_settings, embed=replace(isolated_settings.embed, model="bge-small-en-v1.5"))
    embedder = Embedder(s.embed, s.cache_dir)
    assert embedder.dims == 384 and embedder.query_prefix  # bge asks queries, not passages, for an instruction
    indexer = Indexer(es, s, embedder)
    indexer.ensure_index()
    indexer.index_documents([
        Document(id="d:chair", title="Governance", text="The TSC chair is elected by the TSC members every year.",
                 acl=[PUBLIC]),
        Document(id="d:bikes", title="Parking", text="Bicycles go in the basement rack behind door B.",
                 acl=[PUBLIC]),
    ])
    indexer.refresh()
    searcher = Searcher(es, s, embedder)
    assert searcher.search("who leads the technical steering committee", [PUBLIC], mode="dense").docs[0].doc_id \
        == "d:chair"
    assert searcher.search("where can I leave my bike", [PUBLIC], mode="dense").docs[0].doc_id == "d:bikes"
