"""The chunk index: one mapping, versioned indices behind an alias, and the roll-out of mapping changes.

Readers and writers only ever use the alias. A new SCHEMA_VERSION creates `<alias>-v<N>`, copies every
chunk (vectors included, no re-embedding) and swaps the alias atomically; the server has no reindex
module, so the copy is a scroll + bulk done here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import scan, streaming_bulk

from backend.acl import LEVEL_FIELDS
from backend.errors import IndexMismatch
from backend.es import translated
from backend.index import analysis
from backend.markers import MarkerDeriver, marker_id
from backend.settings import ElasticSettings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # bump when the mapping below changes; ensure_index() migrates to the new version
MARKERS_SINCE = 2  # indices of older schemas hold no completion markers: migrate() derives them
# v3: English stemming on every node (backend/index/analysis.py): `_meta.stemming`, *_stems fields where needed
CUSTOM_ANALYZER = analysis.PLAIN_ANALYZER
# Lucene refuses a keyword term over 32,766 bytes and with it the whole chunk (one 40 KB heading once
# stopped a space's cursor for good). Keywords that hold user text ignore longer values instead: they stay
# in _source and in the analysed sub-field, they are just not matched exactly. 8,191 characters is the
# most that can never exceed the byte limit (4 bytes per character in UTF-8).
IGNORE_ABOVE = 8191


def new_index_name(alias: str, version: int = SCHEMA_VERSION) -> str:
    """`<alias>-v<schema>-<ms>`: unique, sortable by creation, and says which schema built it."""
    return f"{alias}-v{version}-{time.time_ns() // 1_000_000}"


def pick_analyzer(es: Elasticsearch, setting: str) -> tuple[str, str]:
    """(text analyzer, stemming path): `english` needs analysis-common (full distributions), which the
    integ-test server lacks; there the stems are computed in Python (backend/index/analysis.py)."""
    modules: set[str] = set()
    if setting == "auto":
        nodes = es.nodes.info(node_id="_local", metric="modules")["nodes"]
        modules = {m["name"] for node in nodes.values() for m in node.get("modules", [])}
    return analysis.choose(setting, modules)


def index_body(settings: ElasticSettings, dims: int, analyzer: str, model: str,
               stemming: str = analysis.NONE) -> dict:
    keyword = {"type": "keyword"}
    # user text (titles, headings, URLs): an over-long value is ignored, not a reason to lose the chunk.
    # Identifiers (doc_id, parent_id, ancestors, space) and ACL identities stay strict: an id is bounded by
    # _id's 512 bytes, and an ACL value silently left out would turn "restricted" into "unrestricted"
    # (an acl_rN level nobody can match must still exist), so a chunk with one is refused instead.
    bounded = {"type": "keyword", "ignore_above": IGNORE_ABOVE}
    text = {"type": "text", "analyzer": analyzer}
    stem_text = {"type": "text", "analyzer": analysis.STEMS_ANALYZER}
    stem_props = {name: stem_text for name in analysis.STEM_FIELDS.values()} if stemming == analysis.PYTHON else {}
    return {
        "settings": {
            "number_of_shards": settings.shards,
            "number_of_replicas": settings.replicas,
            "analysis": {
                "filter": {"lore_stop": {"type": "stop", "stopwords": "_english_"}},
                "analyzer": {
                    CUSTOM_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "lore_stop"]},
                    analysis.STEMS_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
                },
            },
        },
        "mappings": {
            "_meta": {"schema_version": SCHEMA_VERSION, "model": model, "dims": dims, "analyzer": analyzer,
                      "stemming": stemming},
            "dynamic": "strict",
            "properties": {
                "doc_id": keyword,
                "chunk_no": {"type": "integer"},
                "source": keyword,
                "kind": keyword,
                "space": keyword,
                "url": {**bounded, "index": False},
                "version": keyword,
                "updated": {"type": "date"},
                # the document id of the page a comment, attachment or meeting transcript belongs to
                # (`confluence:page:<id>`): the sync finds a page's transcripts by it (connector/transcripts.py)
                "parent_id": keyword,
                "ancestors": keyword,
                "heading_path": {**bounded, "fields": {"text": text}},
                "title": {"type": "text", "analyzer": analyzer, "fields": {"raw": bounded}},
                "text": text,
                **stem_props,
                "acl": keyword,
                **{name: keyword for name in LEVEL_FIELDS},
                # completion markers only (backend/markers.py): chunk count, ACL digest, access; never searched
                "marker": {"type": "object", "enabled": False},
                "embedding": {
                    "type": "dense_vector",
                    "dims": dims,
                    "index": True,
                    "similarity": "dot_product",  # vectors are L2-normalised by the embedder
                    "index_options": {"type": "int8_hnsw"},  # 4x smaller than float, recall loss is small
                },
            },
        },
    }


def current_index(es: Elasticsearch, alias: str) -> str | None:
    try:
        found = es.indices.get_alias(name=alias)
    except NotFoundError:
        return None
    names = sorted(found)
    return names[-1] if names else None


def index_meta(es: Elasticsearch, index: str) -> dict:
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    return mapping.get("_meta", {})


def stemming_of(es: Elasticsearch, alias: str) -> str:
    """The stemming path the index behind `alias` was built with (`none` for one from before schema v3)."""
    name = current_index(es, alias)
    return index_meta(es, name).get("stemming", analysis.NONE) if name else analysis.NONE


def ensure_index(es: Elasticsearch, settings: ElasticSettings, dims: int, model: str) -> str:
    """Make sure the alias points at an index of the current schema for `dims`-wide vectors; return its name."""
    alias = settings.index
    with translated(es, f"preparing the index {alias}"):
        existing = current_index(es, alias)
        if existing is None:
            if es.indices.exists(index=alias):
                raise IndexMismatch(f"{alias} is a plain index, not an alias; delete it or choose LORE_ES_INDEX.")
            name = new_index_name(alias)
            analyzer, stemming = pick_analyzer(es, settings.analyzer)
            es.indices.create(index=name, body=index_body(settings, dims, analyzer, model, stemming))
            es.indices.put_alias(index=name, name=alias)
            log.info("created index %s behind alias %s (%d dims, analyzer %s, stemming %s)", name, alias, dims,
                     analyzer, stemming)
            return name
        meta = index_meta(es, existing)
        if meta.get("dims") != dims:
            raise IndexMismatch(
                f"The index {alias} holds {meta.get('dims')}-dimension vectors from {meta.get('model')!r}, "
                f"but the embedding model {model!r} makes {dims}-dimension vectors. Reindex: run "
                "`python -m backend.index rebuild --yes` and then a full sync "
                "(`python -m connector sync --all --full`), "
                "or set LORE_EMBED_MODEL back."
            )
        if meta.get("schema_version", 0) < SCHEMA_VERSION:
            return migrate(es, settings, existing, dims, meta.get("model", model))
        return existing


def migrate(es: Elasticsearch, settings: ElasticSettings, old: str, dims: int, model: str,
            version: int = SCHEMA_VERSION) -> str:
    """Copy `old` into the index of `version` and swap the alias in one atomic call; the old index is kept.

    An index from before completion markers gets them derived from its chunks (backend/markers.py), so
    the next sync re-embeds only documents whose chunks disagree, not everything.
    """
    alias = settings.index
    new = new_index_name(alias, version)
    analyzer, stemming = pick_analyzer(es, settings.analyzer)
    with translated(es, f"migrating {old} to {new}"):
        deriver = MarkerDeriver() if index_meta(es, old).get("schema_version", 0) < MARKERS_SINCE else None
        es.indices.create(index=new, body=index_body(settings, dims, analyzer, model, stemming))

        def actions() -> Iterator[dict]:
            for hit in scan(es, index=old, query={"query": {"match_all": {}}}, size=500,
                            _source_exclude_vectors=False):
                source = hit["_source"]
                if deriver is not None:
                    deriver.add(source)
                for name in analysis.STEM_FIELDS.values():
                    source.pop(name, None)  # stems of the old index's path, if any: recomputed below or dropped
                if stemming == analysis.PYTHON and "text" in source:  # chunks, not completion markers
                    source.update(analysis.stem_fields(source))
                yield {"_index": new, "_id": hit["_id"], "_source": source}
            for marker in deriver.markers() if deriver is not None else ():
                yield {"_index": new, "_id": marker_id(marker["doc_id"]), "_source": marker}

        copied = 0
        for ok, item in streaming_bulk(es, actions(), chunk_size=settings.bulk_chunk_size, raise_on_error=False):
            if not ok:
                es.indices.delete(index=new)
                raise IndexMismatch(f"Migration to {new} failed on {item}; the alias still points at {old}.")
            copied += 1
        es.indices.refresh(index=new)
        es.indices.update_aliases(actions=[
            {"remove": {"index": old, "alias": alias}},
            {"add": {"index": new, "alias": alias}},
        ])
    log.info("migrated %d chunks and markers from %s to %s; alias %s swapped", copied, old, new, alias)
    return new


def rebuild(es: Elasticsearch, settings: ElasticSettings, dims: int, model: str) -> str:
    """Start over with an empty index for a new model (dims change): new index, alias swapped, old deleted."""
    alias = settings.index
    old = current_index(es, alias)
    new = new_index_name(alias)
    analyzer, stemming = pick_analyzer(es, settings.analyzer)
    with translated(es, f"rebuilding {alias}"):
        es.indices.create(index=new, body=index_body(settings, dims, analyzer, model, stemming))
        actions = [{"add": {"index": new, "alias": alias}}]
        if old:
            actions.insert(0, {"remove": {"index": old, "alias": alias}})
        es.indices.update_aliases(actions=actions)
        if old:
            es.indices.delete(index=old)
    return new
