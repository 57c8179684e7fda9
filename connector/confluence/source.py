"""Confluence as a `connector.source.Source`: pages, blog posts, footer comments and attachments of a space.

Permissions come from ONE paged listing of the space with each page's own read restriction and its ancestor
ids expanded; a page's restriction chain is assembled from its ancestors' entries in that same listing, so
a permission refresh of a whole space costs one call per `page_size` pages, not one per page. Pages whose
ancestors are missing from the listing (drafts, unreadable pages) fall back to the client's
`ancestors_read_restrictions` (which handles CONFCLOUD-77618).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.confluence import ConfluenceClient
from backend.confluence import constants as c
from backend.confluence.client import restriction_identities
from backend.errors import ExtractionError, SourceNotFound
from backend.settings import ConfluenceSettings
from backend.spaces import SpaceConfig
from connector.budget import Deadline, OverBudget
from connector.confluence.storage import storage_to_text
from connector.extract import is_recording, kind_of
from connector.extract.isolated import extract_text_within
from connector.source import Access, Existence, Skipped, Source, SourceDoc, SpaceView, Unit

log = logging.getLogger(__name__)

Json = dict[str, Any]
# (page native id, attachment JSON) -> a status line for the sync report
RecordingHook = Callable[[str, Json], str]

SOURCE = "confluence"
# The space listing: oldest first, so a sync that stops halfway has processed a prefix of the space and its
# cursor (the last modification processed) says where to resume.
CQL_SPACE_ORDERED = c.CQL_SPACE_CONTENT + " order by lastmodified asc"
# Own read restriction and ancestor ids, but NOT ancestors' restrictions: expanding those is what 404s a
# whole batch when one ancestor is an unreadable draft (CONFCLOUD-77618).
LIST_EXPAND = "version,ancestors,restrictions.read.restrictions.user,restrictions.read.restrictions.group"
BODY_EXPAND = "body.storage,version"


def doc_id(kind: str, native_id: str) -> str:
    return f"{SOURCE}:{kind}:{native_id}"


def parse_when(raw: str | None) -> datetime:
    """Confluence timestamps ("2026-11-02T09:00:00.000Z", DC with an offset) as aware UTC datetimes."""
    if not raw:
        return datetime.fromtimestamp(0, UTC)
    when = datetime.fromisoformat(raw)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def cql_date(when: datetime, timezone: str) -> str:
    """CQL's minute-precision date, written in the token user's timezone (REFERENCE.md, incremental sync)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown Confluence timezone %r; writing CQL dates in UTC", timezone)
        zone = ZoneInfo("UTC")
    return when.astimezone(zone).strftime(c.CQL_DATE_FORMAT)


class ConfluenceSource(Source):
    name = SOURCE

    def __init__(self, client: ConfluenceClient, settings: ConfluenceSettings,
                 on_recording: RecordingHook | None = None, workdir: Path | str | None = None):
        self.client = client
        self.settings = settings
        self.on_recording = on_recording
        # where the private staging directory is made (default: the system temp dir); see staging_dir
        self.workdir = Path(workdir) if workdir else None
        self._staging: Path | None = None
        self._remove_staging: weakref.finalize | None = None
        self._staging_lock = threading.Lock()

    def open_space(self, space: SpaceConfig) -> ConfluenceSpaceView:
        return ConfluenceSpaceView(self, space)

    def staging_dir(self) -> Path:
        """This run's private directory for downloads: a random name, mode 0700, made on first use and removed
        by `close()` or when the source goes away (a fixed shared /tmp path let other local users read the
        files or plant symlinks). Each file in it is deleted as soon as its text is extracted."""
        with self._staging_lock:
            if self._staging is None:
                if self.workdir is not None:
                    self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._staging = Path(tempfile.mkdtemp(prefix="lore-attachments-", dir=self.workdir))
                self._remove_staging = weakref.finalize(self, shutil.rmtree, self._staging, ignore_errors=True)
            return self._staging

    def close(self) -> None:
        with self._staging_lock:
            if self._remove_staging is not None:
                self._remove_staging()
            self._staging = self._remove_staging = None


class ConfluenceSpaceView(SpaceView):
    def __init__(self, source: ConfluenceSource, space: SpaceConfig):
        self.src = source
        self.client = source.client
        self.key = space.key
        self.timezone = self.client.server_timezone()
        try:
            self.identities = tuple(self.client.space_read_identities(space.key))
        except SourceNotFound:
            raise SourceNotFound(f"Confluence has no space {space.key!r}, or the token's user cannot see it: "
                                 "check the key (`python -m connector spaces list`) and that user's space "
                                 "permissions.") from None
        if not self.identities:
            log.warning("space %s has no read permission we can express; its documents will be visible to no one",
                        space.key)
        self._lock = threading.Lock()
        self._rows: dict[str, Json] = {}  # native id -> listing row, oldest first
        cql = CQL_SPACE_ORDERED.format(space=space.key)
        for row in self.client.search_content(cql, expand=LIST_EXPAND):
            self._rows[row["id"]] = row
        self._access: dict[str, Access] = {}
        self._children_ids: set[str] = set()
        self._listed: set[str] = set()

    # ---- SpaceView ------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._rows)

    def units(self, since: datetime | None = None) -> list[Unit]:
        if since is None:
            rows = list(self._rows.values())
        else:
            cql = c.CQL_MODIFIED_SINCE.format(space=self.key, since=cql_date(since, self.timezone))
            rows = list(self.client.search_content(cql, expand=LIST_EXPAND))
            with self._lock:
                for row in rows:  # created after the space listing: still theirs to index and to keep
                    self._rows.setdefault(row["id"], row)
        rows.sort(key=lambda r: (parse_when(r.get("version", {}).get("when")), int(r["id"]) if r["id"].isdigit()
                                 else 0))
        return [Unit(self._doc(row), parse_when(row.get("version", {}).get("when")), self._children_fn(row))
                for row in rows]

    def access_of(self, doc_id_: str, parent_id: str | None) -> Access | None:
        native = (parent_id or doc_id_).rsplit(":", 1)[-1]
        row = self._rows.get(native)
        return self._page_access(row) if row is not None else None

    def existing(self) -> Existence:
        with self._lock:
            ids = {doc_id(r["type"], r["id"]) for r in self._rows.values()} | self._children_ids
            return Existence(ids=ids, top_complete=True, listed_parents=set(self._listed))

    # ---- documents ------------------------------------------------------------------------------

    def _doc(self, row: Json) -> SourceDoc:
        version = row.get("version", {})
        return SourceDoc(
            id=doc_id(row["type"], row["id"]), kind=row["type"], title=row.get("title", ""), url=self._url(row),
            space=self.key, version=str(version.get("number", 0)), updated=version.get("when"),
            access=self._page_access(row), fetch=self._fetch_body,
        )

    def _fetch_body(self, doc: SourceDoc) -> str:
        native = doc.id.rsplit(":", 1)[-1]
        try:
            data = self.client.get_content(native, expand=BODY_EXPAND)
        except SourceNotFound:
            raise Skipped("deleted in Confluence while the sync ran") from None
        version = data.get("version", {})
        doc.version = str(version.get("number", doc.version))
        doc.updated = version.get("when", doc.updated)
        doc.title = data.get("title", doc.title)
        return self._convert(data.get("body", {}).get("storage", {}).get("value", ""))

    def _convert(self, body: str) -> str:
        """Storage XHTML to text within the item's time budget; over it, `Skipped` (the runner remembers it)."""
        seconds = self.src.settings.item_seconds
        try:
            return storage_to_text(body, Deadline(seconds))
        except OverBudget:
            raise Skipped(f"converting its text took longer than {seconds:g} s (LORE_CONFLUENCE_ITEM_SECONDS); "
                          "skipped until it is edited") from None

    def _children_fn(self, row: Json) -> Callable[[], list[SourceDoc]] | None:
        if row["type"] != "page" and row["type"] != "blogpost":
            return None
        return lambda: self._children(row)

    def _children(self, row: Json) -> list[SourceDoc]:
        """Footer comments and attachments of one page; a listing error propagates (no prune for this page)."""
        parent = doc_id(row["type"], row["id"])
        access = self._page_access(row)
        page_url = self._url(row)
        out = [self._comment(parent, page_url, access, com) for com in self.client.comments(row["id"])
               if (com.get("extensions") or {}).get("location", "footer") == "footer"]
        out += [self._attachment(row["id"], parent, access, att) for att in self.client.attachments(row["id"])]
        with self._lock:
            self._children_ids.update(d.id for d in out)
            self._listed.add(parent)
        return out

    def _comment(self, parent: str, page_url: str, access: Access, com: Json) -> SourceDoc:
        version = com.get("version", {})
        webui = (com.get("_links") or {}).get("webui")
        url = self.client.base + webui if webui else f"{page_url}?focusedCommentId={com['id']}#comment-{com['id']}"
        body = com.get("body", {}).get("storage", {}).get("value", "")
        return SourceDoc(
            id=doc_id("comment", com["id"]), kind="comment", title=com.get("title", ""), url=url, space=self.key,
            version=str(version.get("number", 0)), updated=version.get("when"), access=access, parent_id=parent,
            fetch=lambda _doc: self._convert(body),  # the listing carried the body: no second call
        )

    def _attachment(self, page_native: str, parent: str, access: Access, att: Json) -> SourceDoc:
        version = att.get("version", {})
        links = att.get("_links") or {}
        media = (att.get("metadata") or {}).get("mediaType") or (att.get("extensions") or {}).get("mediaType", "")
        recording = is_recording(media, att.get("title", ""))
        doc = SourceDoc(
            id=doc_id("attachment", att["id"]), kind="recording" if recording else "attachment",
            title=att.get("title", ""), url=self.client.base + (links.get("webui") or links.get("download") or ""),
            space=self.key, version=str(version.get("number", 1)), updated=version.get("when"), access=access,
            parent_id=parent,
        )
        if recording:
            doc.handoff = lambda _doc: self._handoff(page_native, att)
        else:
            doc.fetch = lambda d: self._extract(page_native, att, media, d)
        return doc

    def _extract(self, page_native: str, att: Json, media: str, doc: SourceDoc) -> str:
        """Download to disk (never into memory) and extract; every reason not to index becomes `Skipped`."""
        title = att.get("title", att["id"])
        cap = self.src.settings.attachment_max_bytes
        declared = (att.get("extensions") or {}).get("fileSize")
        if kind_of(media, title) is None:  # decide before downloading anything
            raise Skipped(f"unsupported attachment type ({media or 'no media type'}, {title!r})")
        if declared is not None and int(declared) == 0:
            raise Skipped("empty attachment (0 bytes)")
        try:
            path = self.client.download_attachment(page_native, att, self.src.staging_dir(), cap)
        except ExtractionError as exc:  # over the cap, by declared size or while streaming
            raise Skipped(exc.message) from None
        except SourceNotFound:
            raise Skipped("deleted in Confluence while the sync ran") from None
        try:
            return extract_text_within(path, media, title, cap, self.src.settings.item_seconds,
                                       self.src.settings.extract_memory_mb)
        except ExtractionError as exc:
            raise Skipped(exc.message) from None
        finally:
            path.unlink(missing_ok=True)

    def _handoff(self, page_native: str, att: Json) -> str:
        if self.src.on_recording is None:
            return "recording noted; no minutes pipeline is configured"
        return self.src.on_recording(page_native, att)

    # ---- permissions ----------------------------------------------------------------------------

    def _page_access(self, row: Json) -> Access:
        with self._lock:
            cached = self._access.get(row["id"])
        if cached is not None:
            return cached
        ancestors = tuple(str(a["id"]) for a in row.get("ancestors") or [])
        chain = [self._rows.get(a) for a in ancestors]
        if all(r is not None and "restrictions" in r for r in chain) and "restrictions" in row:
            levels = [tuple(restriction_identities(r["restrictions"].get("read", {}))) for r in [*chain, row]]
            levels = [level for level in levels if level]  # () = that level is not restricted
        else:
            # an ancestor is not in the listing (a draft, or beyond what the token user sees): ask per page.
            # The client answers [[]] when a level is unreadable: an empty level that denies everyone.
            levels = [tuple(level) for level in self.client.ancestors_read_restrictions(row)]
        access = Access(self.identities, tuple(levels), ancestors)
        with self._lock:
            self._access[row["id"]] = access
        return access

    def _url(self, row: Json) -> str:
        webui = (row.get("_links") or {}).get("webui")
        return self.client.base + webui if webui else f"{self.client.base}/pages/viewpage.action?pageId={row['id']}"
