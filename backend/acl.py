"""Who may read a chunk, as Elasticsearch fields and as the query filter that enforces it (deny by default).

A chunk stores `acl` (container level: space or channel) and up to MAX_LEVELS restriction levels
(`acl_r1`..): the page's own read restriction and each restricted ancestor's. A reader needs one identity
in `acl` AND one in every present level. A chunk with no `acl` matches no reader.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_LEVELS = 4  # deeper restriction chains are rare; extra levels are merged by intersection (never wider)
LEVEL_FIELDS = tuple(f"acl_r{i}" for i in range(1, MAX_LEVELS + 1))
NOBODY = "__nobody__"  # the one value of a restriction level that no reader has: the level denies everyone


def reduce_levels(levels: Sequence[Sequence[str]]) -> list[list[str]]:
    """Drop duplicate and redundant levels (a superset of another level adds nothing), cap the count.

    An empty level (a restriction nobody passes) is kept: it makes the page invisible, as it should.
    """
    sets: list[frozenset[str]] = []
    for level in levels:
        s = frozenset(level)
        if s not in sets:
            sets.append(s)
    kept = [s for s in sets if not any(o < s for o in sets)]  # o < s: o is stricter, s redundant
    kept.sort(key=len)
    if len(kept) > MAX_LEVELS:
        merged = frozenset.intersection(*kept[MAX_LEVELS - 1 :])
        kept = kept[: MAX_LEVELS - 1] + [merged]
    return [sorted(s) for s in kept]


def acl_fields(acl: Sequence[str], restrictions: Sequence[Sequence[str]]) -> dict:
    fields: dict = {"acl": sorted(set(acl))}
    levels = reduce_levels(restrictions)
    for name, level in zip(LEVEL_FIELDS, levels, strict=False):
        # an empty restriction level must still deny everyone: store a value no identity can have
        fields[name] = level or [NOBODY]
    return fields


class Audience(tuple):
    """Several readers at once (the members of a Slack channel a reply is posted in): each element is one
    reader's identities, and a chunk is visible only when EVERY reader may open it. No readers: nothing."""

    def __new__(cls, readers: Sequence[Sequence[str]]):
        unique = sorted({tuple(sorted(set(r))) for r in readers})  # members who see the same add nothing
        return super().__new__(cls, unique)


def acl_filter(identities: Sequence[str] | Audience) -> dict:
    """The filter every search leg carries. Empty identities (or an empty audience) match nothing."""
    if isinstance(identities, Audience):
        if not identities:
            return {"bool": {"must_not": {"match_all": {}}}}
        return {"bool": {"filter": [acl_filter(list(reader)) for reader in identities]}}
    ids = sorted(set(identities))
    if not ids:
        return {"bool": {"must_not": {"match_all": {}}}}
    clauses: list[dict] = [{"terms": {"acl": ids}}]
    for name in LEVEL_FIELDS:
        clauses.append(
            {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": name}}}}, {"terms": {name: ids}}],
                      "minimum_should_match": 1}}
        )
    return {"bool": {"filter": clauses}}
