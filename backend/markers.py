"""Completion markers: the one record that says "every chunk of this document version is in the index".

A document counts as indexed only when its marker is there: a small extra document in the chunk index
(`<doc_id>#marker`, `chunk_no` -1), written by the indexer after all of the document's chunks were accepted
and its stale tail deleted. It carries the version, the chunk count and the access fields the chunks hold
(in `marker`, a non-indexed object), so the sync runner reads one small record per document instead of
trusting chunk 0. It is never a search hit: no text, no title, no vector, and no identities in `acl`
(deny by default: a record without `acl` matches no reader). Living beside the chunks, it goes with them
on every delete by `doc_id` (purge, prune, re-index of a skipped version).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from backend.acl import LEVEL_FIELDS

MARKER_CHUNK_NO = -1  # chunk numbers of real chunks start at 0
MARKER_SUFFIX = "#marker"  # chunk ids are "<doc_id>#<n>": "#marker" never collides and splits the same way
# the document fields a marker repeats from its chunks, so prune and permission refresh need no chunk
META_FIELDS = ("doc_id", "source", "kind", "space", "url", "version", "updated", "parent_id")
IS_MARKER = {"term": {"chunk_no": MARKER_CHUNK_NO}}
IS_CHUNK = {"range": {"chunk_no": {"gte": 0}}}


def marker_id(doc_id: str) -> str:
    return f"{doc_id}{MARKER_SUFFIX}"


def is_marker_id(es_id: str) -> bool:
    return es_id.endswith(MARKER_SUFFIX)


def normalise_access(source: Mapping) -> dict:
    """Access fields as stored (absent or null levels dropped), in one canonical form for comparisons."""
    out: dict = {"acl": sorted(set(source.get("acl") or []))}
    for name in LEVEL_FIELDS:
        value = source.get(name)
        if value:
            out[name] = sorted(value) if isinstance(value, list) else [value]
    out["ancestors"] = [str(a) for a in (source.get("ancestors") or [])]
    return out


def access_digest(access: Mapping) -> str:
    """A short fingerprint of normalised access fields: equal permissions, equal digest."""
    canon = json.dumps(normalise_access(access), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]  # 64 bits: a fingerprint, not a secret


def marker_source(meta: Mapping, chunks: int, access: Mapping) -> dict:
    """The `_source` of a marker for a document whose `chunks` chunks all carry `meta` and `access`."""
    stored = normalise_access(access)
    return {
        **{k: meta.get(k) for k in META_FIELDS},
        "version": str(meta.get("version", "")),
        "chunk_no": MARKER_CHUNK_NO,
        "marker": {"chunks": chunks, "acl_digest": access_digest(stored), "access": stored},
    }


def marker_access_update(access: Mapping) -> dict:
    """The partial update that keeps a marker's stored access in step with rewritten chunk ACLs."""
    stored = normalise_access(access)
    # a partial update merges objects key by key: a level the document no longer has must be nulled
    nulled = {**{name: None for name in LEVEL_FIELDS}, **stored}
    return {"marker": {"access": nulled, "acl_digest": access_digest(stored)}}


@dataclass
class _Seen:
    meta: dict | None = None  # chunk 0's document fields
    access: dict | None = None  # chunk 0's access fields
    chunk_nos: set[int] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)


class MarkerDeriver:
    """Markers for an index written before markers existed, from its chunks' `_source`s fed one by one.

    A document gets one only when its chunks agree with each other: numbered 0..n-1 without a gap, one
    version, one set of access fields. A stale tail of an older version, a chunk left over from a failed
    write or a missing chunk 0 fail that test; such documents get no marker and the next sync re-indexes
    them. (A document whose LAST chunks failed on its first write cannot be told apart: nothing recorded
    how many it should have had. The old sync reported such failures; a full re-index is the cure.)
    """

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}  # a few small sets per document, never the chunk text

    def add(self, src: Mapping) -> None:
        n = src.get("chunk_no")
        if not isinstance(n, int) or n < 0 or "doc_id" not in src:
            return
        s = self._seen.setdefault(src["doc_id"], _Seen())
        s.chunk_nos.add(n)
        s.versions.add(str(src.get("version", "")))
        access = normalise_access(src)
        s.digests.add(access_digest(access))
        if n == 0:
            s.meta = {k: src.get(k) for k in META_FIELDS}
            s.access = access

    def markers(self) -> Iterator[dict]:
        for s in self._seen.values():
            if s.meta is None or len(s.versions) != 1 or len(s.digests) != 1:
                continue
            if s.chunk_nos != set(range(len(s.chunk_nos))):
                continue
            yield marker_source(s.meta, len(s.chunk_nos), s.access or {})
