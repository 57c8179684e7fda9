"""Permission changes without re-embedding: read what each indexed document allows, rewrite only that.

Confluence does not bump a page's version when its restrictions change or it moves, so the sync runner
compares the permissions it reads with `indexed_docs()` (one completion marker per document, see
backend/markers.py) and rewrites the ACL fields of every chunk of a changed document, and the marker's copy,
with partial-document bulk `update`s (no script: the server has no painless).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan, streaming_bulk

from backend.acl import LEVEL_FIELDS, acl_fields
from backend.errors import BulkError
from backend.es import translated
from backend.markers import IS_CHUNK, IS_MARKER, META_FIELDS, is_marker_id, marker_access_update, normalise_access

log = logging.getLogger(__name__)

ACCESS_FIELDS = ("acl", *LEVEL_FIELDS, "ancestors")
_SCAN_PAGE = 1000  # hits (or aggregation buckets) per page: marker metadata is small
_TERMS_BATCH = 500  # doc ids per terms query when finding the chunks of changed documents


def access_fields(acl: Sequence[str], restrictions: Sequence[Sequence[str]], ancestors: Sequence[str] = ()) -> dict:
    """The ACL fields a chunk stores, normalised so two reads of the same permissions compare equal."""
    return {**acl_fields(acl, restrictions), "ancestors": [str(a) for a in ancestors]}


normalise = normalise_access  # access fields as a chunk stores them, comparable with `access_fields`


@dataclass
class IndexedDoc:
    doc_id: str
    version: str  # "" when the document is incomplete: the runner then fetches and indexes it again
    kind: str
    parent_id: str | None
    access: dict  # normalised access fields (the marker's copy; a chunk's for an incomplete document)
    complete: bool = True  # a marker says every chunk of `version` is in the index, and the count agrees


def indexed_docs(es: Elasticsearch, alias: str, source: str, space: str) -> dict[str, IndexedDoc]:
    """doc_id -> what the index holds for it: complete documents from their markers, plus every document that
    has chunks but no (matching) marker, as incomplete (a failed or interrupted write, an old index)."""
    scope = [{"term": {"source": source}}, {"term": {"space": space}}]
    out: dict[str, IndexedDoc] = {}
    counts: dict[str, int] = {}
    with translated(es, "reading indexed documents and their permissions"):
        es.indices.refresh(index=alias)  # the last write of a crashed sync may not be searchable yet
        query = {"query": {"bool": {"filter": [*scope, IS_MARKER]}}, "_source": [*META_FIELDS, "marker"]}
        for hit in scan(es, index=alias, query=query, size=_SCAN_PAGE):
            src = hit["_source"]
            mark = src.get("marker") or {}
            out[src["doc_id"]] = IndexedDoc(src["doc_id"], str(src.get("version", "")), src.get("kind", ""),
                                            src.get("parent_id"), normalise(mark.get("access") or {}))
            counts[src["doc_id"]] = int(mark.get("chunks", -1))
        have = dict(_chunk_counts(es, alias, scope))
        for doc_id, doc in out.items():
            if have.get(doc_id) != counts[doc_id]:  # chunks missing or extra: the marker is not the truth
                doc.version, doc.complete = "", False
        _read_incomplete(es, alias, [d for d in have if d not in out], out)
    return out


def _chunk_counts(es: Elasticsearch, alias: str, scope: list[dict]) -> Iterator[tuple[str, int]]:
    """(doc_id, number of chunks) for every document with chunks in `scope`, paged by a composite aggregation."""
    after = None
    while True:
        composite: dict = {"size": _SCAN_PAGE, "sources": [{"doc_id": {"terms": {"field": "doc_id"}}}]}
        if after:
            composite["after"] = after
        resp = es.search(index=alias, size=0, query={"bool": {"filter": [*scope, IS_CHUNK]}},
                         aggs={"docs": {"composite": composite}})
        agg = resp["aggregations"]["docs"]
        for bucket in agg["buckets"]:
            yield bucket["key"]["doc_id"], bucket["doc_count"]
        after = agg.get("after_key")
        if not agg["buckets"] or not after:
            return


def _read_incomplete(es: Elasticsearch, alias: str, doc_ids: list[str], out: dict[str, IndexedDoc]) -> None:
    """Incomplete documents as their lowest-numbered chunk describes them, with version "" (re-index them)."""
    wanted = ["doc_id", "chunk_no", "kind", "parent_id", *ACCESS_FIELDS]
    lowest: dict[str, dict] = {}
    for start in range(0, len(doc_ids), _TERMS_BATCH):
        query = {"query": {"bool": {"filter": [{"terms": {"doc_id": doc_ids[start:start + _TERMS_BATCH]}},
                                               IS_CHUNK]}}, "_source": wanted}
        for hit in scan(es, index=alias, query=query, size=_SCAN_PAGE):
            src = hit["_source"]
            if src["doc_id"] not in lowest or src["chunk_no"] < lowest[src["doc_id"]]["chunk_no"]:
                lowest[src["doc_id"]] = src
    for doc_id, src in lowest.items():
        out[doc_id] = IndexedDoc(doc_id, "", src.get("kind", ""), src.get("parent_id"), normalise(src),
                                 complete=False)
    if lowest:
        log.info("%d indexed documents are incomplete and will be indexed again", len(lowest))


def update_acl(es: Elasticsearch, alias: str, changes: Mapping[str, Mapping], chunk_size: int = 500) -> int:
    """Give every chunk of each document in `changes` (doc_id -> `access_fields(...)`) those fields.

    Restriction levels a document no longer has are written as null, which removes them from the filter.
    Returns the number of chunks updated; per-chunk failures raise `BulkError` after the rest are written.
    """
    if not changes:
        return 0
    partials = {doc_id: _partial(fields) for doc_id, fields in changes.items()}

    def actions() -> Iterable[dict]:
        ids = list(partials)
        for start in range(0, len(ids), _TERMS_BATCH):
            query = {"query": {"terms": {"doc_id": ids[start:start + _TERMS_BATCH]}}, "_source": ["doc_id"]}
            for hit in scan(es, index=alias, query=query, size=_SCAN_PAGE):
                # the write goes to the concrete index the hit came from: the alias may front several
                partial = partials[hit["_source"]["doc_id"]]
                if is_marker_id(hit["_id"]):  # the marker keeps its copy of the access in step, not in `acl`
                    partial = marker_access_update(partial)
                yield {"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"], "doc": partial}

    updated, failures = 0, []
    with translated(es, "updating chunk permissions"):
        for ok, item in streaming_bulk(es, actions(), chunk_size=chunk_size, raise_on_error=False, max_retries=3):
            if ok:
                updated += not is_marker_id(item.get("update", {}).get("_id", ""))
            elif item.get("update", {}).get("status") != 404:  # deleted meanwhile: nothing left to protect
                failures.append(item)
    if failures:
        raise BulkError(f"{len(failures)} chunks kept their old permissions; the next sync retries them", failures)
    log.info("permissions rewritten", extra={"documents": len(changes), "chunks": updated})
    return updated


def _partial(fields: Mapping) -> dict:
    doc = {"acl": list(fields.get("acl") or []), "ancestors": list(fields.get("ancestors") or [])}
    for name in LEVEL_FIELDS:
        doc[name] = list(fields[name]) if fields.get(name) else None
    return doc
