"""Take indexed content out of every reader's sight at once: hide documents, hide or purge a whole space.

Hiding rewrites the ACL fields of a document's chunks to one deny-all restriction level (no re-embedding, so it
costs a bulk update, not a sync). It is how a permission *narrowing* reaches answers before anything is deleted:
content gone from, or unreadable in, the sync account's listing; a space the sync account can no longer read; a
space an admin disabled. The next sync that sees the document readable again compares the access it reads with
the hidden one and writes the real access back. Removing a space purges it (deletes its chunks).

The sync runner (connector) and the admin API and CLI call these; nothing here knows Confluence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from elasticsearch import Elasticsearch

from backend.acl import LEVEL_FIELDS, NOBODY
from backend.acl_update import IndexedDoc, access_fields, indexed_docs, update_acl
from backend.es import translated
from backend.indexer import Indexer
from backend.minutes.jobs import TRANSCRIPT_SOURCE
from backend.settings import Settings

log = logging.getLogger(__name__)

# Documents other pipelines make from a source's content, indexed under the same space: they share its fate
# (the minutes job's meeting transcripts, made from Confluence recordings)
DERIVED_SOURCES = {"confluence": (TRANSCRIPT_SOURCE,)}


def hidden_fields(access: Mapping) -> dict:
    """`access` (normalised, as IndexedDoc.access) with every restriction level replaced by one that denies all.

    The space level and ancestors are kept, so a report can still say what the document was, and so the hidden
    state differs from any real access the source can hand back (a real one is then always written back).
    """
    return access_fields(access.get("acl") or [], [[]], access.get("ancestors") or [])


def is_hidden(access: Mapping) -> bool:
    """True when some restriction level admits no one (hidden by us, or restricted to nobody at the source)."""
    return any(access.get(name) == [NOBODY] for name in LEVEL_FIELDS)


def hide_documents(es: Elasticsearch, alias: str, docs: Mapping[str, IndexedDoc]) -> list[str]:
    """Hide each document (all its chunks) that is not hidden already; returns the ids newly hidden."""
    changes = {doc_id: hidden_fields(doc.access) for doc_id, doc in docs.items() if not is_hidden(doc.access)}
    if changes:
        update_acl(es, alias, changes)
        for doc_id, fields in changes.items():
            docs[doc_id].access = fields  # the caller's view of the index stays true
        log.info("documents hidden", extra={"documents": len(changes)})
    return list(changes)


def hide_space(es: Elasticsearch, settings: Settings, space: str, source: str = "confluence") -> list[str]:
    """Hide every indexed document of a space (disabled by an admin, or unreadable to the sync account)."""
    if not _index_exists(es, settings.es.index):
        return []
    return hide_documents(es, settings.es.index, _space_docs(es, settings.es.index, source, space))


def purge_space(es: Elasticsearch, settings: Settings, space: str, source: str = "confluence") -> int:
    """Delete every indexed document of a space (removed by an admin); returns chunks deleted."""
    if not _index_exists(es, settings.es.index):
        return 0
    doc_ids = list(_space_docs(es, settings.es.index, source, space))
    # deleting needs no model: the indexer only embeds when it writes
    return Indexer(es, settings, embedder=None).delete_documents(doc_ids)


def hidden_count(es: Elasticsearch, settings: Settings, space: str, source: str = "confluence") -> int:
    """Documents of a space that no reader can see now (hidden by a sync or an admin, or restricted to nobody)."""
    if not _index_exists(es, settings.es.index, refresh=False):  # a status page may lag by a refresh interval
        return 0
    levels = [{"term": {name: NOBODY}} for name in LEVEL_FIELDS]
    query = {"bool": {"filter": [{"terms": {"source": _sources(source)}}, {"term": {"space": space}},
                                 {"term": {"chunk_no": 0}}, {"bool": {"should": levels, "minimum_should_match": 1}}]}}
    with translated(es, f"counting hidden documents of {space}"):
        return int(es.count(index=settings.es.index, query=query)["count"])


def _sources(source: str) -> list[str]:
    return [source, *DERIVED_SOURCES.get(source, ())]


def _space_docs(es: Elasticsearch, alias: str, source: str, space: str) -> dict[str, IndexedDoc]:
    """A space's documents from `source` and from the pipelines derived from it."""
    docs: dict[str, IndexedDoc] = {}
    for name in _sources(source):
        docs.update(indexed_docs(es, alias, name, space))
    return docs


def _index_exists(es: Elasticsearch, alias: str, refresh: bool = True) -> bool:
    """Before the first sync there is no index: nothing to hide or purge (not an error). When there is one, it is
    refreshed first: chunks a running sync wrote a moment ago must not escape the scan that finds the space's
    documents."""
    with translated(es, f"checking that {alias} exists"):
        if not es.indices.exists(index=alias):
            return False
        if refresh:
            es.indices.refresh(index=alias)
        return True
