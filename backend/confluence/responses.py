"""Reading Confluence's HTTP answers: Retry-After, DC's throttling signs, error statuses -> `backend.errors`,
and the two URL edits the retry loop makes (a query added, the page size halved after a 504).

Split out of client.py, which keeps the calls and the retry loop itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from backend.confluence import constants as c
from backend.errors import SourceError, SourceNotFound

Json = dict[str, Any]


def with_query(url: str, params: Json) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, str(v)) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def halve_limit(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, str(max(c.MIN_PAGE_SIZE, int(v) // 2)) if k == "limit" and v.isdigit() else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def retry_after(resp: requests.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:  # an HTTP date: rare from Atlassian; fall back to our own backoff
        return None


def looks_throttled(resp: requests.Response) -> bool:
    if any(h in resp.headers for h in c.THROTTLE_HEADERS):
        return True
    body = resp.text[:2000].lower()
    return any(marker in body for marker in c.THROTTLE_MARKERS)


def raise_client_error(resp: requests.Response, method: str, route: str) -> None:
    status, detail = resp.status_code, server_message(resp)
    resp.close()
    if status == 404:
        raise SourceNotFound(f"Confluence has no such item ({route}): it was deleted or the token's user "
                             f"cannot see it.", code="source_not_found")
    if status == 403:
        raise SourceError(f"Confluence refused {method} {route} (403): the token's user lacks permission. "
                          f"{detail}".strip(), code="http_403")
    if status == 400 and "already exists" in detail.lower():
        raise SourceError(f"Confluence refused the new page: {detail}", code="title_exists")
    raise SourceError(f"Confluence refused {method} {route} (HTTP {status}). {detail}".strip(), code=f"http_{status}")


def is_status(exc: Exception, statuses: tuple[int, ...]) -> bool:
    return getattr(exc, "code", "") in {"source_not_found" if s == 404 else f"http_{s}" for s in statuses}


def server_message(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("message", ""))[:300]
    except ValueError:
        return ""
