"""The index and hybrid search on the real Elasticsearch: what a searching user would notice."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from backend.documents import PUBLIC, Document
from backend.errors import IndexMismatch
from backend.index import schema
from backend.settings import Settings

HR = "confluence-group:hr"
ALICE = "confluence-user:alice"
BOB = "confluence-user:bob"


def wiki_docs(shared_data, n: int, start: int = 0) -> list[Document]:
    docs = []
    with open(shared_data / "wiki" / "hyperledger-toc.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < start:
                continue
            r = json.loads(line)
            if r["n_words"] < 80:  # redirect stubs say little; keep the fixture meaningful
                continue
            docs.append(Document(id=f"wiki:{r['doc_id']}", title=r["title"], text=r["text"], acl=[PUBLIC],
                                 url=f"https://wiki.example/{r['doc_id']}"))
            if len(docs) == n:
                break
    return docs


def test_search_finds_the_page_in_every_mode_with_highlighted_snippets(make_indexer, shared_data):
    indexer, searcher = make_indexer()
    docs = wiki_docs(shared_data, 25)
    docs.append(Document(id="conf:page:1", title="Parking garage rules",
                         text="# Access\nThe parking garage opens at 6am. Badges are required after 8pm.",
                         acl=[PUBLIC], url="https://wiki.example/parking"))
    report = indexer.index_documents(docs)
    indexer.refresh()
    assert report.errors == [] and report.documents == 26 and report.chunks >= 26
    for mode in ("bm25", "dense", "hybrid"):
        result = searcher.search("when does the parking garage open", [PUBLIC], mode=mode)
        assert result.docs[0].doc_id == "conf:page:1", mode
    top = searcher.search("parking garage badges", [PUBLIC]).docs[0]
    assert "<mark>" in top.snippet and top.url == "https://wiki.example/parking"
    assert top.hits[0].heading_path == ["Access"]
    # results are grouped: one entry per document, never the same page twice
    ids = [d.doc_id for d in searcher.search("TSC meeting minutes", [PUBLIC], k=10).docs]
    assert len(ids) == len(set(ids))


def test_acl_filter_denies_by_default_and_enforces_every_restriction_level(make_indexer):
    indexer, searcher = make_indexer()
    text = "The quarterly salary review for the platform team happens in March."
    indexer.index_documents([
        Document(id="d:open", title="Salary review (open)", text=text, acl=[PUBLIC]),
        Document(id="d:noacl", title="Salary review (no acl)", text=text, acl=[]),
        Document(id="d:hr", title="Salary review (hr)", text=text, acl=[HR]),
        # a child page under a parent restricted to HR, itself restricted to Alice and Bob:
        # only someone who passes both levels may read it
        Document(id="d:child", title="Salary review (child)", text=text, acl=[PUBLIC],
                 restrictions=[[HR, ALICE], [ALICE, BOB]]),
    ])
    indexer.refresh()

    def visible(identities):
        seen = set()
        for mode in ("bm25", "dense", "hybrid"):
            seen |= {d.doc_id for d in searcher.search("salary review", identities, mode=mode).docs}
        return seen

    assert visible([PUBLIC]) == {"d:open"}
    assert visible([PUBLIC, HR]) == {"d:open", "d:hr"}
    assert visible([PUBLIC, BOB]) == {"d:open"}  # passes the child's level, not the parent's
    assert visible([PUBLIC, ALICE]) == {"d:open", "d:child"}
    assert visible([PUBLIC, HR, BOB]) == {"d:open", "d:hr", "d:child"}
    assert visible([]) == set()
    assert "d:noacl" not in visible([PUBLIC, HR, ALICE, BOB, "*"])


def test_reindexing_a_shorter_version_removes_stale_chunks_and_delete_by_doc_id(make_indexer):
    indexer, searcher = make_indexer()
    long_text = "\n".join(f"Paragraph {i} about the release train and its milestones." * 5 for i in range(40))
    indexer.index_documents([Document(id="d:1", title="Release plan", text=long_text, acl=[PUBLIC], version="1")])
    indexer.refresh()
    before = indexer.count({"term": {"doc_id": "d:1"}})
    assert before > 3
    indexer.index_documents([Document(id="d:1", title="Release plan", text="Now a single short paragraph.",
                                      acl=[PUBLIC], version="2")])
    indexer.refresh()
    assert indexer.count({"term": {"doc_id": "d:1"}}) == 1
    assert indexer.document_versions("confluence") == {"d:1": "2"}
    assert indexer.delete_documents(["d:1"]) == 1
    indexer.refresh()
    assert searcher.search("short paragraph", [PUBLIC]).docs == []


def test_bulk_reports_per_item_errors_and_keeps_the_good_documents(make_indexer):
    indexer, _ = make_indexer()
    report = indexer.index_documents([
        Document(id="d:good", title="Good", text="A perfectly fine page.", acl=[PUBLIC]),
        Document(id="d:bad", title="Bad", text="A page with a broken timestamp.", acl=[PUBLIC],
                 updated="last tuesday-ish"),
    ])
    indexer.refresh()
    assert [e["doc_id"] for e in report.errors] == ["d:bad"]
    assert "updated" in report.errors[0]["reason"]
    assert report.failed_docs == {"d:bad"}
    assert indexer.document_versions("confluence") == {"d:good": "1"}


def test_over_long_titles_headings_and_urls_are_indexed_not_refused(make_indexer):
    """Lucene refuses keyword terms over 32,766 bytes; user text must never cost the chunk (or a cursor)."""
    indexer, searcher = make_indexer()
    huge = " ".join(f"term{i:05d}" for i in range(4000))  # 40 KB
    report = indexer.index_documents([Document(
        id="d:long", title=huge, url="https://wiki.example/" + "x" * 40_000, acl=[PUBLIC],
        text=f"# {huge}\nThe loading dock closes at five on Fridays.\n# Parking\nVisitors park in lot C.")])
    indexer.refresh()
    assert report.errors == [] and report.chunks >= 2
    assert indexer.document_versions("confluence") == {"d:long": "1"}  # complete: its marker was written
    top = searcher.search("when does the loading dock close", [PUBLIC], mode="bm25").docs[0]
    # the 40 KB title is kept whole (not a keyword term); a 40 KB "heading" is body text to the chunker
    assert top.doc_id == "d:long" and top.title == huge and huge not in top.hits[0].heading_path


def test_empty_and_invalid_text_are_reported_not_fatal(make_indexer):
    indexer, searcher = make_indexer()
    broken = b"caf\xe9 menu \xff\xfe and the cantine opens at noon".decode("utf-8", "surrogateescape")
    report = indexer.index_documents([
        Document(id="d:empty", title="Empty", text="   \n", acl=[PUBLIC]),
        Document(id="d:broken", title="Cantine", text=broken + "\x00", acl=[PUBLIC]),
    ])
    indexer.refresh()
    assert report.skipped == [("d:empty", "empty document: no text to index")]
    assert report.errors == []
    assert searcher.search("cantine noon", [PUBLIC]).docs[0].doc_id == "d:broken"


def test_a_mapping_change_rolls_out_as_new_index_and_alias_swap(make_indexer, es, isolated_settings):
    indexer, searcher = make_indexer()
    indexer.index_documents([Document(id="d:1", title="Onboarding", text="Laptops are issued on day one.",
                                      acl=[PUBLIC])])
    indexer.refresh()
    alias = isolated_settings.es.index
    old = schema.current_index(es, alias)
    new = schema.migrate(es, isolated_settings.es, old, indexer.embedder.dims, indexer.embedder.model_name,
                         version=schema.SCHEMA_VERSION + 1)
    assert new != old and schema.current_index(es, alias) == new
    assert list(es.indices.get_alias(name=alias)) == [new]  # readers see exactly one index
    # copied with its vectors: dense search still finds it without re-embedding
    assert searcher.search("when do new hires get a computer", [PUBLIC], mode="dense").docs[0].doc_id == "d:1"


def test_a_model_with_other_dimensions_is_refused_with_a_reindex_hint(make_indexer, es, isolated_settings):
    make_indexer()
    with pytest.raises(IndexMismatch) as err:
        schema.ensure_index(es, isolated_settings.es, dims=768, model="all-mpnet-base-v2")
    assert "reindex" in str(err.value).lower() and "384" in str(err.value)


def test_elasticsearch_down_names_the_url(settings: Settings):
    from backend.errors import ServiceUnavailable
    from backend.es import connect

    with pytest.raises(ServiceUnavailable) as err:
        connect(replace(settings.es, url="http://127.0.0.1:9"))
    assert "http://127.0.0.1:9" in str(err.value) and "elasticsearch.sh start" in str(err.value)


DATED = [  # two sets of minutes on the same subject; the later one says more of the question's words
    Document(id="d:2016-02", title="2016-02-18 TSC Minutes", acl=[PUBLIC],
             text="Nominations for TSC chair are attached: Chris Ferris (IBM) and Emmanuel Viale (Accenture)."),
    Document(id="d:2019-03", title="2019-03-07 TSC Minutes", acl=[PUBLIC],
             text="Who was nominated for TSC chair this term? The nominations for TSC chair: Arnaud Le Hors and "
                  "Tracy Kuhrt were nominated for chair of the TSC."),
    Document(id="d:board", title="2016-02-25 Board Minutes", acl=[HR],
             text="Budget for the February 2016 hackathon; chair nominations are the TSC's business."),
    *[Document(id=f"d:{day}", title=f"{day} TSC Minutes", acl=[PUBLIC], text=text) for day, text in [
        ("2016-03-31", "The IBM and DAH code bases are to be merged; maintainers to be named next week."),
        ("2016-05-12", "About 100 people came to the hackathon held around the Consensus event."),
        ("2016-07-14", "Contributors with a merged commit in the last year may vote in the TSC election."),
        ("2019-05-02", "Quilt's scope was discussed; the reboot waits for new maintainers."),
    ]],  # so that a year is a common word in titles, as in any team's wiki
]


@pytest.mark.parametrize("analyzer", ["auto", "lore_text"])  # Python stems, and no stemming at all
def test_a_question_naming_a_date_finds_the_page_titled_with_it(make_indexer, isolated_settings, analyzer):
    s = replace(isolated_settings, es=replace(isolated_settings.es, analyzer=analyzer))
    indexer, searcher = make_indexer(s)
    indexer.index_documents(DATED)
    indexer.refresh()
    question = "Who was nominated for TSC chair in February 2016?"
    for mode in ("bm25", "dense", "hybrid"):
        assert searcher.search(question, [PUBLIC], mode=mode).docs[0].doc_id == "d:2016-02", mode
        # the date clauses carry the asker's visibility: the board's page of that month stays hidden
        assert "d:board" not in {d.doc_id for d in searcher.search(question, [PUBLIC], mode=mode).docs}
        assert "d:board" in {d.doc_id for d in searcher.search(question, [PUBLIC, HR], mode=mode).docs}
    # without the date, the page that repeats the question's words comes first, as before
    assert searcher.search("Who was nominated for TSC chair?", [PUBLIC], mode="bm25").docs[0].doc_id == "d:2019-03"
    off = replace(s, search=replace(s.search, date_boost=0.0, date_nudge=0.0))
    _, plain = make_indexer(off)
    assert plain.search(question, [PUBLIC], mode="bm25").docs[0].doc_id == "d:2019-03"  # what the hints change
