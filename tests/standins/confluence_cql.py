"""The slice of CQL the stand-in understands: exactly what Lore sends, parsed strictly so that a client
sending anything else gets the 400 a real server would give to bad CQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.standins.confluence_state import Content

_CLAUSE = re.compile(
    r"""\s*(?P<field>[a-zA-Z.]+)\s*(?P<op>>=|<=|!=|=|>|<|\bin\b)\s*
        (?P<value>\([^)]*\)|"(?:[^"\\]|\\.)*"|[^\s()]+)\s*""",
    re.X | re.I,
)
_ORDER = re.compile(r"\s+order\s+by\s+(?P<field>\w+)(?:\s+(?P<dir>asc|desc))?\s*$", re.I)


class CQLError(ValueError):
    """Bad or unsupported CQL: the stand-in answers 400 like Confluence's parser does."""


@dataclass
class Query:
    predicates: list[Callable[[Content], bool]]
    order_field: str | None = None
    descending: bool = False

    def matches(self, item: Content) -> bool:
        return all(p(item) for p in self.predicates)


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _values(raw: str) -> list[str]:
    if raw.startswith("("):
        return [_unquote(v) for v in raw[1:-1].split(",") if v.strip()]
    return [_unquote(raw)]


def parse(cql: str, tz: str) -> Query:
    """Parse `clause and clause ... [order by field asc|desc]`; dates are read in the token user's `tz`."""
    query = Query([])
    order = _ORDER.search(cql)
    if order:
        query.order_field = order["field"].lower()
        query.descending = (order["dir"] or "asc").lower() == "desc"
        cql = cql[: order.start()]
    pos = 0
    while pos < len(cql):
        m = _CLAUSE.match(cql, pos)
        if not m:
            raise CQLError(f"Could not parse cql : {cql!r} at {pos}")
        query.predicates.append(_predicate(m["field"].lower(), m["op"].lower(), m["value"], tz))
        pos = m.end()
        joiner = re.match(r"and\s+", cql[pos:], re.I)
        if joiner:
            pos += joiner.end()
        elif pos < len(cql):
            raise CQLError(f"Only 'and' joins clauses here: {cql[pos:]!r}")
    return query


def _predicate(field: str, op: str, raw: str, tz: str) -> Callable[[Content], bool]:
    values = _values(raw)
    if field in ("type", "space", "id", "title", "parent", "ancestor"):
        if op not in ("=", "in", "!="):
            raise CQLError(f"operator {op} not supported for {field}")
        getter = {
            "type": lambda c: c.type,
            "space": lambda c: c.space,
            "id": lambda c: c.id,
            "title": lambda c: c.title,
            "parent": lambda c: c.parent_id or "",
        }.get(field)
        if field == "ancestor":
            raise CQLError("ancestor is not supported by the stand-in")
        wanted = set(values)
        return (lambda c: getter(c) not in wanted) if op == "!=" else (lambda c: getter(c) in wanted)
    if field in ("lastmodified", "created"):
        if op not in (">=", ">", "<=", "<", "="):
            raise CQLError(f"operator {op} not supported for {field}")
        bound = _cql_date(values[0], tz)
        getter = (lambda c: c.when) if field == "lastmodified" else (lambda c: c.created)
        return {
            ">=": lambda c: getter(c) >= bound,
            ">": lambda c: getter(c) > bound,
            "<=": lambda c: getter(c) <= bound,
            "<": lambda c: getter(c) < bound,
            "=": lambda c: getter(c).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") == values[0],
        }[op]
    raise CQLError(f"field {field!r} is not supported by the stand-in")


def _cql_date(value: str, tz: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            continue
    raise CQLError(f"Could not parse date {value!r}: use \"yyyy-MM-dd HH:mm\"")


def sort_key(field: str | None) -> Callable[[Content], object]:
    if field in (None, "lastmodified"):
        return lambda c: (c.when, int(c.id))
    if field == "created":
        return lambda c: (c.created, int(c.id))
    if field == "title":
        return lambda c: c.title
    raise CQLError(f"order by {field} is not supported by the stand-in")


def email_from_user_cql(cql: str) -> str:
    """`user.email = "x@y"` (optionally after `type = user and`) -> the email."""
    m = re.search(r'user\.email\s*=\s*"((?:[^"\\]|\\.)*)"', cql, re.I)
    if not m:
        raise CQLError(f"Could not parse cql : {cql!r}")
    return re.sub(r"\\(.)", r"\1", m[1])
