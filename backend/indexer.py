"""Documents in, searchable chunks out: chunk, embed, bulk-upsert, delete stale chunks, report per item.

A document is finished only when its completion marker is written (backend/markers.py): after every one of
its chunks was accepted and the tail of a longer old version deleted. A document with a refused chunk gets
no marker, loses its old one and keeps no old text (the refused chunk's old content and the stale tail are
deleted), so the next sync sees it as incomplete and indexes it again.

Embedding (CPU-bound, in this thread) overlaps with bulk writes (I/O, in one writer thread), so the
pipeline costs little more than the model itself (bench/indexing.py measures the ratio).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan, streaming_bulk

from backend.acl import acl_fields
from backend.chunking import chunk_document
from backend.documents import Chunk, Document
from backend.embeddings import Embedder
from backend.errors import BulkError, ConfigError, LoreError
from backend.es import translated
from backend.index import analysis
from backend.index.schema import ensure_index, stemming_of
from backend.markers import IS_MARKER, is_marker_id, marker_id, marker_source
from backend.settings import Settings

log = logging.getLogger(__name__)

EMBED_BATCH_CHUNKS = 64  # chunks embedded together: big enough to keep the model busy, small for memory
DELETE_PAGE = 1000  # ids fetched per page when deleting by document id


@dataclass
class IndexReport:
    documents: int = 0
    chunks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)
    errors: list[dict] = field(default_factory=list)  # per-item bulk failures: {doc_id, chunk_id, reason}
    failed_docs: set[str] = field(default_factory=set)

    def merge(self, other: IndexReport) -> None:
        self.documents += other.documents
        self.chunks += other.chunks
        self.skipped += other.skipped
        self.errors += other.errors
        self.failed_docs |= other.failed_docs


def clean_text(text: str) -> str:
    """Text safe for JSON and the analyzers: no NULs, no lone surrogates from bad decoding."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    return text.encode("utf-8", "replace").decode("utf-8")


class Indexer:
    def __init__(self, es: Elasticsearch, settings: Settings, embedder: Embedder | None):
        """`embedder` may be None for delete-only use (purging a space); writing then raises."""
        self.es = es
        self.settings = settings
        self.embedder = embedder
        self.alias = settings.es.index
        self._stemming = analysis.NONE  # of the index behind the alias; read by index_documents()

    def ensure_index(self) -> str:
        if self.embedder is None:
            raise ConfigError("This indexer was built without an embedding model and cannot create the index.")
        return ensure_index(self.es, self.settings.es, self.embedder.dims, self.embedder.model_name)

    def refresh(self) -> None:
        with translated(self.es, "refreshing the index"):
            self.es.indices.refresh(index=self.alias)

    # ---- writing --------------------------------------------------------------------------------

    def index_documents(self, docs: Iterable[Document]) -> IndexReport:
        """Index `docs` (upserts by deterministic chunk id); the report lists what was skipped or failed.

        Callers that checkpoint (the sync runner) call this per batch and record the batch afterwards.
        """
        if self.embedder is None:
            raise ConfigError("This indexer was built without an embedding model and cannot index documents.")
        report = IndexReport()
        with translated(self.es, "reading the index's stemming"):
            self._stemming = stemming_of(self.es, self.alias)  # per call: a migration may have swapped the index
        metas: dict[str, dict] = {}  # doc_id -> the fields its marker repeats
        writer = _BulkWriter(self.es, self.settings.es.bulk_chunk_size, report)
        writer.start()
        try:
            batch: list[tuple[Document, Chunk]] = []
            for doc in docs:
                chunks = self._chunks(doc, report)
                if chunks is None:
                    continue
                metas[doc.id] = self._meta(doc)
                for ch in chunks:
                    batch.append((doc, ch))
                    if len(batch) >= EMBED_BATCH_CHUNKS:
                        self._flush(batch, writer)
                        batch = []
                writer.put(("done", doc.id, len(chunks)))
            if batch:
                self._flush(batch, writer)
        finally:
            writer.close()
        if writer.error:
            raise writer.error
        queued = dict(writer.finished)
        self._discard_failed({d: queued.get(d) for d in report.failed_docs}, report.errors)
        done = {d: n for d, n in queued.items() if d not in report.failed_docs}
        self._delete_stale(done)
        self._write_markers({d: (metas[d], n) for d, n in done.items()}, report)
        return report

    def _chunks(self, doc: Document, report: IndexReport) -> list[Chunk] | None:
        text = clean_text(doc.text or "")
        limit = self.settings.chunk.max_document_chars
        if len(text) > limit:
            report.skipped.append((doc.id, f"text truncated from {len(text):,} to {limit:,} characters"))
            text = text[:limit]
        doc.text = text
        if not text.strip():
            report.skipped.append((doc.id, "empty document: no text to index"))
            return None
        if not doc.acl:
            log.warning("document %s has no ACL identities: it will be visible to no one", doc.id)
        c = self.settings.chunk
        chunks = list(chunk_document(doc, c.words, c.overlap, c.merge_below))
        if not chunks:  # headings only, no body text
            report.skipped.append((doc.id, "no text to index (only a title and headings)"))
            return None
        report.documents += 1
        return chunks

    def _flush(self, batch: list[tuple[Document, Chunk]], writer: _BulkWriter) -> None:
        vectors = self.embedder.encode([ch.embed_text() for _, ch in batch])
        for (doc, ch), vec in zip(batch, vectors, strict=False):
            writer.put(("chunk", self._action(doc, ch, vec.tolist())))

    @staticmethod
    def _meta(doc: Document) -> dict:
        """The document-level fields every chunk (and the marker) carries."""
        return {
            "doc_id": doc.id, "source": doc.source, "kind": doc.kind, "space": doc.space, "url": doc.url,
            "version": str(doc.version), "updated": doc.updated, "parent_id": doc.parent_id,
            "ancestors": doc.ancestors, **acl_fields(doc.acl, doc.restrictions),
        }

    def _action(self, doc: Document, ch: Chunk, vector: list[float]) -> dict:
        source = {**self._meta(doc), "chunk_no": ch.n, "heading_path": ch.heading_path, "title": doc.title,
                  "text": ch.text, "embedding": vector}
        if self._stemming == analysis.PYTHON:  # a node without `english`: the stems BM25 searches (analysis.py)
            source.update(analysis.stem_fields(source))
        return {"_op_type": "index", "_index": self.alias, "_id": ch.id, "_source": source}

    def _write_markers(self, done: dict[str, tuple[dict, int]], report: IndexReport) -> None:
        """Mark each finished document complete; a marker the index refuses leaves its document incomplete."""
        actions = ({"_op_type": "index", "_index": self.alias, "_id": marker_id(d),
                    "_source": marker_source(meta, n, meta)} for d, (meta, n) in done.items())
        with translated(self.es, "writing completion markers"):
            for ok, item in streaming_bulk(self.es, actions, chunk_size=self.settings.es.bulk_chunk_size,
                                           raise_on_error=False, max_retries=3, require_alias=True):
                if not ok:
                    info = item.get("index", {})
                    doc_id = info.get("_id", "").rsplit("#", 1)[0]
                    report.errors.append({"doc_id": doc_id, "chunk_id": info.get("_id", ""),
                                          "reason": str(info.get("error", info))[:500]})
                    report.failed_docs.add(doc_id)

    def _discard_failed(self, failed: dict[str, int | None], errors: list[dict]) -> None:
        """A document with a refused chunk: drop its marker and every chunk this write did not replace.

        What remains is new text only (the chunks that were accepted); the next sync writes the rest.
        """
        if not failed:
            return
        refused = [e["chunk_id"] for e in errors if e["doc_id"] in failed and e.get("chunk_id")]
        with translated(self.es, "removing the old chunks of documents that failed"):
            ids = [*refused, *(marker_id(d) for d in failed)]
            actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in ids)
            for ok, item in streaming_bulk(self.es, actions, chunk_size=DELETE_PAGE, raise_on_error=False):
                if not ok and item.get("delete", {}).get("status") != 404:
                    raise BulkError("could not remove the old chunks of a document that failed to index", [item])
        self._delete_stale({d: n for d, n in failed.items() if n is not None})

    def _delete_stale(self, finished: dict[str, int]) -> None:
        """Delete chunks left over from a longer earlier version of each document (chunk_no >= new count)."""
        items = list(finished.items())
        for start in range(0, len(items), 200):  # one query per 200 documents, not one per document
            should = [{"bool": {"filter": [{"term": {"doc_id": d}}, {"range": {"chunk_no": {"gte": n}}}]}}
                      for d, n in items[start:start + 200]]
            self._delete_query({"bool": {"should": should, "minimum_should_match": 1}})

    # ---- deleting and reading -------------------------------------------------------------------

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(doc_ids))
        deleted = 0
        for start in range(0, len(ids), 500):
            deleted += self._delete_query({"terms": {"doc_id": ids[start:start + 500]}})
        return deleted

    def _delete_query(self, query: dict) -> int:
        """Delete every chunk matching `query` (the server has no _delete_by_query: search ids, bulk delete)."""
        with translated(self.es, "deleting chunks"):
            hits = scan(self.es, index=self.alias, query={"query": query, "_source": False}, size=DELETE_PAGE)
            actions = ({"_op_type": "delete", "_index": self.alias, "_id": h["_id"]} for h in hits)
            deleted = 0
            failures = []
            for ok, item in streaming_bulk(self.es, actions, chunk_size=DELETE_PAGE, raise_on_error=False):
                if ok:
                    deleted += not is_marker_id(item.get("delete", {}).get("_id", ""))  # chunks, not markers
                elif item.get("delete", {}).get("status") != 404:
                    failures.append(item)
        if failures:
            raise BulkError(f"{len(failures)} chunks could not be deleted", failures)
        return deleted

    def document_versions(self, source: str, space: str | None = None) -> dict[str, str]:
        """doc_id -> version of every completely indexed document of one source (and space)."""
        filters: list[dict] = [{"term": {"source": source}}, IS_MARKER]
        if space is not None:
            filters.append({"term": {"space": space}})
        with translated(self.es, "reading indexed versions"):
            return {
                h["_source"]["doc_id"]: h["_source"]["version"]
                for h in scan(self.es, index=self.alias, size=1000,
                              query={"query": {"bool": {"filter": filters}}, "_source": ["doc_id", "version"]})
            }

    def count(self, query: dict | None = None) -> int:
        """Chunks matching `query` (completion markers are not chunks)."""
        query = {"bool": {"must": query or {"match_all": {}}, "must_not": IS_MARKER}}
        with translated(self.es, "counting chunks"):
            return self.es.count(index=self.alias, query=query)["count"]


class _BulkWriter:
    """One thread feeding streaming_bulk from a bounded queue, so writes overlap with embedding."""

    _END = object()

    def __init__(self, es: Elasticsearch, chunk_size: int, report: IndexReport):
        self.es = es
        self.chunk_size = chunk_size
        self.report = report
        self.q: queue.Queue = queue.Queue(maxsize=4 * EMBED_BATCH_CHUNKS)
        self.finished: list[tuple[str, int]] = []  # (doc_id, chunk count) of documents fully queued
        self.error: LoreError | None = None
        self._thread = threading.Thread(target=self._run, name="lore-bulk-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: tuple) -> None:
        if self.error:
            raise self.error
        self.q.put(item)

    def close(self) -> None:
        self.q.put(self._END)
        self._thread.join()

    def _actions(self) -> Iterator[dict]:
        while True:
            item = self.q.get()
            if item is self._END:
                return
            if item[0] == "chunk":
                yield item[1]
            else:
                self.finished.append(item[1:])

    def _run(self) -> None:
        try:
            with translated(self.es, "writing chunks"):
                # require_alias: a write must never auto-create a plain index when the alias is gone
                for ok, result in streaming_bulk(self.es, self._actions(), chunk_size=self.chunk_size,
                                                 raise_on_error=False, raise_on_exception=True, max_retries=3,
                                                 require_alias=True):
                    if ok:
                        self.report.chunks += 1
                    else:
                        info = result.get("index", {})
                        cid = info.get("_id", "")
                        doc_id = cid.rsplit("#", 1)[0]
                        self.report.errors.append({"doc_id": doc_id, "chunk_id": cid,
                                                   "reason": str(info.get("error", info))[:500]})
                        self.report.failed_docs.add(doc_id)
        except LoreError as exc:
            self.error = exc
            while self.q.get() is not self._END:  # drain so the producer never blocks forever
                pass
