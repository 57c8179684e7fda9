"""The one thin module that speaks HTTP to Confluence (Cloud and Data Center, REST v1).

Every call goes through `ConfluenceClient._send`: timeouts, Retry-After, DC's 403 throttling, full-jitter
backoff, and translation of `requests` failures and HTTP statuses into `backend.errors` classes.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from backend.confluence import constants as c
from backend.confluence.responses import (
    halve_limit,
    is_status,
    looks_throttled,
    raise_client_error,
    retry_after,
    with_query,
)
from backend.documents import CONFLUENCE_ANONYMOUS, PUBLIC
from backend.errors import (
    ConfigError,
    ExtractionError,
    RateLimited,
    ServiceUnavailable,
    SourceAuthError,
    SourceError,
    SourceNotFound,
)
from backend.settings import ConfluenceSettings

log = logging.getLogger(__name__)

Json = dict[str, Any]


class ConfluenceClient:
    """Confluence REST v1 with paging to the end (`_links.next`), retries and per-route call counters."""

    def __init__(
        self,
        settings: ConfluenceSettings,
        session: requests.Session | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ):
        if not settings.url:
            raise ConfigError("LORE_CONFLUENCE_URL is empty: set it to https://<site>.atlassian.net/wiki "
                              "(Cloud) or your Data Center base URL.")
        if urlsplit(settings.url).username is not None:  # the base URL ends up in every document link
            raise ConfigError("LORE_CONFLUENCE_URL carries credentials (user:password@): remove them and set "
                              "LORE_CONFLUENCE_EMAIL + LORE_CONFLUENCE_API_TOKEN (Cloud) or LORE_CONFLUENCE_PAT.")
        self.settings = settings
        self.cloud = _is_cloud(settings)
        self.base = _rest_root(settings.url, self.cloud)
        self.session = session or requests.Session()
        self.session.headers.update(self._auth_headers())
        self.session.headers.setdefault("Accept", "application/json")
        self._sleep = sleep
        self._rng = rng
        self.stats: Counter[str] = Counter()  # "GET /rest/api/content/{id}" -> calls (tries included)
        self.retries: Counter[str] = Counter()  # route -> retried tries
        self._stats_lock = threading.Lock()  # the connector fetches with a thread pool
        self._timezone: str | None = None

    # --- identity -----------------------------------------------------------------------------------

    def current_user(self) -> Json:
        return self._get(c.CURRENT_USER)

    def server_timezone(self) -> str:
        """The token user's timezone: CQL `lastmodified` dates are read in it (default UTC)."""
        if self._timezone is None:
            self._timezone = self.current_user().get("timeZone") or "UTC"
        return self._timezone

    def find_user_by_email(self, email: str) -> Json | None:
        """The user with this email, or None (unknown, email hidden, or search not allowed on this site)."""
        cql = f'user.email = "{_cql_quote(email)}"'
        try:
            for row in self._paged(c.USER_SEARCH, {"cql": cql}):
                user = row.get("user", row)
                if (user.get("email") or "").lower() == email.lower():
                    return user
        except (SourceAuthError, RateLimited):
            raise
        except (SourceNotFound, SourceError) as exc:
            # Some sites refuse email CQL (privacy settings, DC without the field): treat as "not matched".
            log.warning("Confluence user search by email failed; user treated as unmatched", extra={"error": str(exc)})
        return None

    def find_user_by_username(self, username: str) -> Json | None:
        """A Data Center user by login name (`userKey` is what ACLs name), or None when there is no such user."""
        try:
            return self._get(c.USER, params={"username": username})
        except SourceNotFound:
            return None

    def user_groups(self, account_id: str) -> list[str]:
        """Group names of a user: Cloud names it by accountId, Data Center by userKey (`key`)."""
        rows = self._paged(c.USER_MEMBEROF, {"accountId" if self.cloud else "key": account_id})
        return [g["name"] for g in rows if g.get("name")]

    # --- spaces and content -------------------------------------------------------------------------

    def spaces(self) -> Iterator[Json]:
        """Every current space the token user can see ({key, name, type, ...}), global and personal."""
        yield from self._paged(c.SPACES, {"limit": self.settings.page_size, "status": "current"})

    def space(self, key: str) -> Json:
        return self._get(c.SPACE, key=key, params={"expand": "permissions,homepage"})

    def space_read_identities(self, key: str) -> list[str]:
        """Who may read the space, as ACL identities.

        A read grant to "Anonymous" takes effect only where the site lets anonymous visitors in (the global
        "Use Confluence" permission for Anonymous on Data Center, "Anonymous access" in Cloud's site settings).
        A normal token cannot read that switch (DC 9.3+ has `GET /rest/api/permissions` for admins only; Cloud
        has no endpoint), so we ask as an anonymous visitor would: the space without credentials. Only if that
        answers is the space `public`; otherwise the grant reaches logged-in users at most: CONFLUENCE_ANONYMOUS.
        """
        identities: list[str] = []
        for perm in self.space(key).get("permissions", []):
            op = perm.get("operation", {})
            if op.get("operation") != "read" or op.get("targetType") != "space":
                continue
            if perm.get("anonymousAccess"):
                identities.append(PUBLIC if self._anonymous_can_read(key) else CONFLUENCE_ANONYMOUS)
            identities.extend(_subject_identities(perm.get("subjects", {})))
        return sorted(set(identities))

    def _anonymous_can_read(self, key: str) -> bool:
        """GET the space with no credentials (not through the session, which carries them). Any doubt is a no."""
        route = f"GET {c.SPACE} (anonymous)"
        with self._stats_lock:
            self.stats[route] += 1
        try:
            # no redirects: an SSO proxy answers anonymous visitors with a login page, which is not the space
            resp = requests.get(self._url(c.SPACE, key=key), headers={"Accept": "application/json"},
                                timeout=self.settings.timeout, allow_redirects=False)
            seen = resp.status_code == 200 and resp.json().get("key") == key
        except (requests.RequestException, ValueError, AttributeError):
            seen = False
        if not seen:
            log.info("space %s grants Anonymous read, but anonymous visitors cannot open it (site anonymous access "
                     "off): indexed for logged-in users, not as public", key)
        return seen

    def search_content(self, cql: str, expand: str = "", limit: int | None = None) -> Iterator[Json]:
        params = {"cql": cql, "limit": limit or self.settings.page_size}
        if expand:
            params["expand"] = expand
        yield from self._paged(c.CONTENT_SEARCH, params)

    def space_content_ids(self, space_key: str) -> Iterator[tuple[str, str, int]]:
        """(id, type, version) of every page and blog post of a space: for full syncs and pruning."""
        cql = c.CQL_SPACE_CONTENT.format(space=_cql_quote(space_key))
        for row in self.search_content(cql, expand="version"):
            yield row["id"], row["type"], int(row.get("version", {}).get("number", 0))

    def get_content(self, content_id: str, expand: str = c.DEFAULT_CONTENT_EXPAND) -> Json:
        return self._get(c.CONTENT, id=content_id, params={"expand": expand})

    def comments(self, page_id: str) -> Iterator[Json]:
        params = {"expand": "body.storage,version", "depth": "all", "limit": self.settings.page_size}
        yield from self._paged(c.CHILD_COMMENTS, params, id=page_id)

    def attachments(self, page_id: str) -> Iterator[Json]:
        yield from self._paged(c.CHILD_ATTACHMENTS, {"expand": "version", "limit": self.settings.page_size},
                               id=page_id)

    def download_attachment(self, page_id: str, attachment: Json, dest_dir: Path, max_bytes: int,
                            setting: str = "LORE_CONFLUENCE_ATTACHMENT_MAX_BYTES") -> Path:
        """Stream one attachment to `dest_dir` (never into memory); abort past `max_bytes`."""
        title = attachment.get("title", attachment["id"])
        declared = (attachment.get("extensions") or {}).get("fileSize")
        if declared is not None and int(declared) > max_bytes:
            raise _too_large(title, page_id, int(declared), max_bytes, setting)
        if self.cloud:
            # Cloud redirects to its media host; requests drops the Authorization header on a cross-host redirect
            url = self._url(c.ATTACHMENT_DOWNLOAD, id=page_id, att_id=attachment["id"])
            route = f"GET {c.ATTACHMENT_DOWNLOAD}"
        else:
            try:
                url = self._join_link(attachment["_links"]["download"])
            except SourceError as exc:
                raise ExtractionError(f"Attachment {title!r} on page {page_id} was skipped: {exc.message}",
                                      code="foreign_link") from None
            route = "GET /download/attachments/{id}/{file}"
        dest_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        resp = self._send("GET", url, route, stream=True)
        # mkstemp: a fresh random name created with O_EXCL | O_NOFOLLOW, mode 0600, so a file or symlink planted
        # in dest_dir is never written through; ids and titles come from Confluence, so both are sanitised
        fd, name = tempfile.mkstemp(prefix=f"{_safe_name(str(attachment['id']))}-",
                                    suffix=f"-{_safe_name(title)}", dir=dest_dir)
        path = Path(name)
        written = 0
        try:
            with resp, os.fdopen(fd, "wb") as out:
                for block in resp.iter_content(c.DOWNLOAD_CHUNK_BYTES):
                    written += len(block)
                    if written > max_bytes:
                        raise _too_large(title, page_id, written, max_bytes, setting, at_least=True)
                    out.write(block)
        except requests.RequestException as exc:
            path.unlink(missing_ok=True)
            detail = f"download of {title!r} broke off: {type(exc).__name__}"
            raise ServiceUnavailable("Confluence", self.base, detail) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    # --- permissions --------------------------------------------------------------------------------

    def read_restrictions(self, content_id: str) -> list[str]:
        """Identities allowed by the content's own read restriction; empty list = not restricted."""
        data = self._get(c.READ_RESTRICTIONS, id=content_id, params={"expand": "restrictions.user,restrictions.group"})
        return restriction_identities(data)

    def ancestors_read_restrictions(self, content: Json) -> list[list[str]]:
        """One identity list per restricted level (ancestors from the root down, then the page itself)."""
        try:
            full = self.get_content(content["id"], expand=c.RESTRICTIONS_EXPAND)
        except (SourceNotFound, SourceError) as exc:
            if isinstance(exc, SourceAuthError) or not is_status(exc, (403, 404)):
                raise
            log.info("ancestor restrictions batch failed (CONFCLOUD-77618); reading them level by level",
                     extra={"content_id": content["id"]})
            return self._restrictions_per_level(content)
        levels = [restriction_identities(a.get("restrictions", {}).get("read", {})) for a in full.get("ancestors", [])]
        levels.append(restriction_identities(full.get("restrictions", {}).get("read", {})))
        # an identity-less *restricted* level cannot appear here: restriction lists always name someone
        return [level for level in levels if level]

    def _restrictions_per_level(self, content: Json) -> list[list[str]]:
        ancestors = content.get("ancestors")
        if ancestors is None:
            ancestors = self.get_content(content["id"], expand="ancestors").get("ancestors", [])
        levels: list[list[str]] = []
        for node_id in [a["id"] for a in ancestors] + [content["id"]]:
            try:
                levels.append(self.read_restrictions(node_id))
            except SourceNotFound:
                # We cannot read this level's restrictions: deny by default rather than over-share.
                log.warning("read restrictions of an ancestor are unreadable; page treated as restricted to no one",
                            extra={"content_id": content["id"], "ancestor_id": node_id})
                return [[]]
        return [level for level in levels if level]

    # --- writing (minutes) ----------------------------------------------------------------------------

    def create_page(self, space_key: str, title: str, body_storage: str, parent_id: str | None = None) -> Json:
        body: Json = {"type": "page", "title": title, "space": {"key": space_key},
                      "body": {"storage": {"value": body_storage, "representation": "storage"}}}
        if parent_id:
            body["ancestors"] = [{"id": str(parent_id)}]
        return self._send("POST", self._url(c.CONTENT_CREATE), f"POST {c.CONTENT_CREATE}", json=body).json()

    def get_property(self, content_id: str, key: str) -> Json | None:
        try:
            return self._get(c.PROPERTY, id=content_id, key=key)
        except SourceNotFound:
            return None

    def set_property(self, content_id: str, key: str, value: Any) -> Json:
        current = self.get_property(content_id, key)
        if current is None:
            url = self._url(c.PROPERTY_CREATE, id=content_id)
            return self._send("POST", url, f"POST {c.PROPERTY_CREATE}", json={"key": key, "value": value}).json()
        body = {"key": key, "value": value, "version": {"number": int(current["version"]["number"]) + 1}}
        return self._send("PUT", self._url(c.PROPERTY, id=content_id, key=key), f"PUT {c.PROPERTY}", json=body).json()

    # --- HTTP core ------------------------------------------------------------------------------------

    def _get(self, route: str, params: Json | None = None, **ids: str) -> Json:
        return self._send("GET", self._url(route, **ids), f"GET {route}", params=params).json()

    def _paged(self, route: str, params: Json, **ids: str) -> Iterator[Json]:
        """Yield `results` of every page, following `_links.next` (never `start` arithmetic)."""
        url: str | None = self._url(route, **ids)
        query: Json | None = params
        while url:
            data = self._send("GET", url, f"GET {route}", params=query, listing=True).json()
            yield from data.get("results", [])
            nxt = data.get("_links", {}).get("next")
            url, query = (self._join_link(nxt, data.get("_links", {}).get("context")), None) if nxt else (None, None)

    def _send(self, method: str, url: str, route: str, *, params: Json | None = None, json: Any = None,
              stream: bool = False, listing: bool = False) -> requests.Response:
        """One logical call: retries throttling and 5xx with backoff, then raises a `backend.errors` class."""
        if params:
            url = with_query(url, params)
        halved = False
        conn_failures = 0
        tries = max(1, self.settings.max_retries)
        attempt = 0
        while True:
            attempt += 1
            with self._stats_lock:
                self.stats[route] += 1
                if attempt > 1:
                    self.retries[route] += 1
            try:
                resp = self.session.request(method, url, json=json, stream=stream, timeout=self.settings.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                conn_failures += 1
                if conn_failures >= min(c.CONNECTION_TRIES, tries) or attempt >= tries:
                    raise ServiceUnavailable("Confluence", self.base, type(exc).__name__,
                                             "Check LORE_CONFLUENCE_URL and that the server is up.") from None
                self._sleep(self._backoff(attempt))
                continue
            status = resp.status_code
            if status < 400:
                return resp
            if status == 401:
                resp.close()
                raise SourceAuthError(self._auth_message())
            if status == 504 and listing and not halved:
                # A big page of results timed out on the server: one extra try with half the page size.
                url, halved, tries = halve_limit(url), True, tries + 1
                resp.close()
                continue
            throttled = status in (429, 503) or (status == 403 and looks_throttled(resp))
            if not throttled and status < 500:
                raise_client_error(resp, method, route)
            wait = retry_after(resp) if throttled else None
            resp.close()
            if attempt >= tries:
                if throttled:
                    raise RateLimited(f"Confluence kept throttling {route} ({status}) after {attempt} tries; "
                                      "the sync will resume later. Lower LORE_CONFLUENCE_WORKERS if this recurs.")
                raise SourceError(f"Confluence failed on {route} with HTTP {status} after {attempt} tries.",
                                  retryable=True, code=f"http_{status}")
            delay = min(wait, self.settings.backoff_cap) if wait is not None else self._backoff(attempt)
            log.info("confluence %s answered %s; retrying in %.1fs", route, status, delay)
            self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^(attempt-1))]."""
        return self._rng() * min(self.settings.backoff_cap, c.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))

    def _url(self, route: str, **ids: str) -> str:
        return self.base + route.format(**{k: quote(str(v), safe="") for k, v in ids.items()})

    def _join_link(self, link: str, context: str | None = None) -> str:
        """Resolve a `_links.next` / `_links.download` link against our own REST root.

        The session sends the Confluence credentials with every call, so an absolute link to any other origin
        (scheme, host, port) is refused: a page body or a compromised proxy must not be able to collect them.
        """
        if link.startswith(("http://", "https://")):
            if _origin(link) != _origin(self.base):
                raise SourceError(f"Confluence sent a link to {_origin(link)}, not to its own site "
                                  f"{_origin(self.base)}; Lore does not send the Confluence credentials there.",
                                  code="foreign_link")
            return link
        root_path = urlsplit(self.base).path
        for prefix in filter(None, (context, root_path)):
            if link.startswith(prefix + "/"):
                link = link[len(prefix):]
                break
        return self.base + link

    def _auth_headers(self) -> dict[str, str]:
        s = self.settings
        if self.cloud:
            if not (s.email and s.api_token):
                    raise ConfigError("Confluence Cloud needs LORE_CONFLUENCE_EMAIL and LORE_CONFLUENCE_API_TOKEN.")
            return {"Authorization": _basic(s.email, s.api_token)}
        if s.pat:
            return {"Authorization": f"Bearer {s.pat}"}
        if s.email and s.api_token:  # DC with basic auth (username + password/token) still works
            return {"Authorization": _basic(s.email, s.api_token)}
        raise ConfigError("Confluence Data Center needs LORE_CONFLUENCE_PAT (a personal access token).")

    def _auth_message(self) -> str:
        if self.cloud:
            return ("Confluence Cloud rejected the credentials (401). Check LORE_CONFLUENCE_EMAIL and "
                    "LORE_CONFLUENCE_API_TOKEN: API tokens expire (at most a year); create a new one at "
                    "https://id.atlassian.com/manage-profile/security/api-tokens.")
        return ("Confluence Data Center rejected the credentials (401). Check LORE_CONFLUENCE_PAT: personal "
                "access tokens expire; create a new one under Profile > Personal Access Tokens.")


# --- helpers -------------------------------------------------------------------------------------------


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def _origin(url: str) -> str:
    """scheme://host:port, with the default port filled in, and no userinfo."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _is_cloud(settings: ConfluenceSettings) -> bool:
    mode = settings.cloud.strip().lower()
    if mode in ("true", "1", "yes", "cloud"):
        return True
    if mode in ("false", "0", "no", "dc", "server"):
        return False
    return (urlsplit(settings.url).hostname or "").endswith(c.CLOUD_HOST_SUFFIX)


def _rest_root(url: str, cloud: bool) -> str:
    root = url.rstrip("/")
    if root.endswith("/rest/api"):
        root = root[: -len("/rest/api")]
    if cloud and not root.endswith(c.CLOUD_CONTEXT):
        root += c.CLOUD_CONTEXT
    return root


def _subject_identities(subjects: Json) -> list[str]:
    out = []
    for user in subjects.get("user", {}).get("results", []):
        uid = user.get("accountId") or user.get("userKey") or user.get("username")
        if uid:
            out.append(f"confluence-user:{uid}")
    for group in subjects.get("group", {}).get("results", []):
        if group.get("name"):
            out.append(f"confluence-group:{group['name']}")
    return out


def restriction_identities(read: Json) -> list[str]:
    """Identities named by one read restriction (`restrictions.read` of a content JSON); [] = not restricted."""
    return sorted(set(_subject_identities(read.get("restrictions", {}))))


def _cql_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _safe_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title)[:100] or "file"


def _too_large(title: str, page_id: str, size: int, cap: int, setting: str, at_least: bool = False) -> ExtractionError:
    mb = 1_000_000
    more = "more than " if at_least else ""
    return ExtractionError(f"Attachment {title!r} on page {page_id} is too large ({more}{size / mb:.1f} MB > cap "
                           f"{cap / mb:.1f} MB, setting {setting}); it was skipped.", code="too_large")
