"""Permission changes without re-embedding: read what each indexed document's chunks allow, rewrite only that.

Confluence does not bump a page's version when its restrictions change or it moves, so the sync runner
compares the permissions it reads with `indexed_docs()` and rewrites the ACL fields of every chunk of a
changed document with partial-document bulk `update`s (no script: the server has no painless).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan, streaming_bulk

from backend.acl import LEVEL_FIELDS, acl_fields
from backend.errors import BulkError
from backend.es import translated

log = logging.getLogger(__name__)

ACCESS_FIELDS = ("acl", *LEVEL_FIELDS, "ancestors")
_SCAN_PAGE = 1000  # hits per scroll page: chunk-0 metadata is small
_TERMS_BATCH = 500  # doc ids per terms query when finding the chunks of changed documents


def access_fields(acl: Sequence[str], restrictions: Sequence[Sequence[str]], ancestors: Sequence[str] = ()) -> dict:
    """The ACL fields a chunk stores, normalised so two reads of the same permissions compare equal."""
    return {**acl_fields(acl, restrictions), "ancestors": [str(a) for a in ancestors]}


def normalise(source: Mapping) -> dict:
    """Access fields as stored in a chunk's `_source` (absent or null levels dropped), comparable with the above."""
    out: dict = {"acl": sorted(set(source.get("acl") or []))}
    for name in LEVEL_FIELDS:
        value = source.get(name)
        if value:
            out[name] = sorted(value) if isinstance(value, list) else [value]
    out["ancestors"] = [str(a) for a in (source.get("ancestors") or [])]
    return out


@dataclass
class IndexedDoc:
    doc_id: str
    version: str
    kind: str
    parent_id: str | None
    access: dict  # normalised access fields of chunk 0


def indexed_docs(es: Elasticsearch, alias: str, source: str, space: str) -> dict[str, IndexedDoc]:
    """doc_id -> what the index holds for it (version, kind, parent, access), read from each chunk 0."""
    query = {"bool": {"filter": [{"term": {"source": source}}, {"term": {"space": space}}, {"term": {"chunk_no": 0}}]}}
    wanted = ["doc_id", "version", "kind", "parent_id", *ACCESS_FIELDS]
    out: dict[str, IndexedDoc] = {}
    with translated(es, "reading indexed documents and their permissions"):
        for hit in scan(es, index=alias, query={"query": query, "_source": wanted}, size=_SCAN_PAGE):
            src = hit["_source"]
            out[src["doc_id"]] = IndexedDoc(src["doc_id"], str(src.get("version", "")), src.get("kind", ""),
                                            src.get("parent_id"), normalise(src))
    return out


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
                yield {"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"],
                       "doc": partials[hit["_source"]["doc_id"]]}

    updated, failures = 0, []
    with translated(es, "updating chunk permissions"):
        for ok, item in streaming_bulk(es, actions(), chunk_size=chunk_size, raise_on_error=False, max_retries=3):
            if ok:
                updated += 1
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
