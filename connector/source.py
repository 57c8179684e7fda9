"""The contract between a content source and the sync runner, kept free of Elasticsearch and embeddings.

A source lists a space as `Unit`s (a page or blog post and, lazily, its comments and attachments); every
`SourceDoc` carries a stable id, its version and its permissions, and a *lazy* `fetch` of its text that the
runner calls only when the version changed. After a pass the view says which ids still exist (for pruning)
and can answer "who may read this indexed document now" for documents it did not yield (permission refresh).
The runner owns everything else: cursors, skip-unchanged, chunking, embedding, writes, deletions, counters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from backend.acl_update import access_fields
from backend.documents import Document
from backend.spaces import SpaceConfig


class Skipped(Exception):  # noqa: N818 - an outcome, not a failure: the item is reported and the sync goes on
    """Raised by a lazy fetch when an item cannot be indexed (too big, corrupt, encrypted, empty, unsupported)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Access:
    """Who may read a document: container identities, then one identity list per restricted level."""

    acl: tuple[str, ...]
    restrictions: tuple[tuple[str, ...], ...] = ()
    ancestors: tuple[str, ...] = ()  # native ids of the page's ancestors, root first (moves show up here)

    @property
    def restricted(self) -> bool:
        return bool(self.restrictions)

    def fields(self) -> dict:
        """What the index stores for this access, normalised for comparison with `backend.acl_update`."""
        return access_fields(self.acl, self.restrictions, self.ancestors)


@dataclass
class SourceDoc:
    id: str  # "<source>:<kind>:<native id>", stable across syncs
    kind: str  # page | blogpost | comment | attachment | recording
    title: str
    url: str
    space: str
    version: str
    updated: str | None
    access: Access
    parent_id: str | None = None  # the doc id of the page a comment or attachment belongs to
    source: str = "confluence"
    # Lazy text: called by the runner only when the version changed. It may refresh `version`, `title` and
    # `updated` in place (the item changed again since it was listed). Raises `Skipped` or a `LoreError`.
    fetch: Callable[[SourceDoc], str] | None = None
    # Recordings are not indexed: the runner calls this once per new version to hand them to the minutes
    # pipeline; it returns a status line for the report.
    handoff: Callable[[SourceDoc], str] | None = None

    def document(self, text: str) -> Document:
        return Document(
            id=self.id, title=self.title, text=text, url=self.url, source=self.source, kind=self.kind,
            space=self.space, version=self.version, updated=self.updated, acl=list(self.access.acl),
            restrictions=[list(level) for level in self.access.restrictions], parent_id=self.parent_id,
            ancestors=list(self.access.ancestors),
        )


@dataclass
class Unit:
    """A top-level item (page, blog post) and its children, listed only when the runner asks for them."""

    doc: SourceDoc
    modified: datetime  # the item's last modification (aware): the cursor once this unit is done
    children: Callable[[], list[SourceDoc]] | None = None  # raises a LoreError when the listing fails


@dataclass
class Existence:
    """What still exists, as far as complete listings tell. Prune deletes only what a complete listing missed."""

    ids: set[str] = field(default_factory=set)
    top_complete: bool = False  # every page / blog post of the space was listed without an error
    listed_parents: set[str] = field(default_factory=set)  # doc ids whose children were listed completely

    def gone(self, doc_id: str, parent_id: str | None) -> bool:
        if not self.top_complete:
            return False
        if parent_id is None:
            return doc_id not in self.ids
        if parent_id not in self.ids:
            return True  # the page went, and its comments and attachments with it
        return parent_id in self.listed_parents and doc_id not in self.ids


class SpaceView(ABC):
    """One space as a source sees it during one sync; built by `Source.open_space` (which lists the space)."""

    key: str
    timezone: str  # the timezone the source's date queries are written in (Confluence: the token user's)

    @property
    @abstractmethod
    def total(self) -> int:
        """Top-level items in the space (the progress bar's total for a full pass)."""

    @abstractmethod
    def units(self, since: datetime | None = None) -> list[Unit]:
        """Every top-level item (since=None) or those modified at or after `since`, oldest first."""

    @abstractmethod
    def access_of(self, doc_id: str, parent_id: str | None) -> Access | None:
        """Who may read an indexed document now; None when the source no longer knows it."""

    @abstractmethod
    def existing(self) -> Existence:
        """What exists, from the space listing and every children listing done so far in this sync."""


class Source(ABC):
    name: str

    @abstractmethod
    def open_space(self, space: SpaceConfig) -> SpaceView:
        """List the space (ids, versions, permissions); raise a LoreError when that listing fails."""
