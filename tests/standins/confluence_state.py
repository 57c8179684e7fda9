"""In-memory state of the Confluence stand-in: users, spaces, content, restrictions, faults and a clock.

Tests and the demo change it directly (add, edit, move, restrict, delete) and read `requests` to assert
what the client really called. `can_read` is the permission rule the real server applies.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT = "557058:lore-svc"  # the token user: an admin-like account that reads everything
SERVICE_EMAIL = "lore-bot@example.com"
SERVICE_TOKEN = "standin-api-token"
SERVICE_PAT = "standin-pat"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # "now" of a fresh stand-in; seeded content is older


class Clock:
    """A controllable "now": tests advance it so `lastmodified` moves deterministically."""

    def __init__(self, start: datetime = START):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


@dataclass
class User:
    account_id: str
    display_name: str
    email: str
    time_zone: str = "UTC"
    groups: set[str] = field(default_factory=set)
    email_visible: bool = True  # users may hide their email: then search by email does not find them
    superuser: bool = False  # reads everything (the token user by default)


ANONYMOUS = User("anonymous", "Anonymous", "", email_visible=False)  # a visitor without credentials


@dataclass
class Space:
    key: str
    name: str
    homepage_id: str | None = None
    read_users: set[str] = field(default_factory=set)
    read_groups: set[str] = field(default_factory=set)
    anonymous: bool = False
    id: int = 0
    deleted: bool = False  # in the trash: every route 404s and CQL finds nothing, even for admins


@dataclass
class Content:
    id: str
    type: str  # page | blogpost | comment
    title: str
    space: str
    body: str  # storage XHTML
    when: datetime
    created: datetime
    parent_id: str | None = None  # page parent, or the commented page for comments
    version: int = 1
    author: str = SERVICE_ACCOUNT
    status: str = "current"  # current | draft (drafts are readable only by their author)
    read_users: set[str] = field(default_factory=set)  # read restriction; both empty = not restricted
    read_groups: set[str] = field(default_factory=set)
    source_doc_id: str | None = None  # the wiki record it was seeded from

    @property
    def restricted(self) -> bool:
        return bool(self.read_users or self.read_groups)


@dataclass
class Attachment:
    id: str
    page_id: str
    title: str
    media_type: str
    when: datetime
    data: bytes | None = None
    path: Path | None = None  # served from disk in chunks (recordings, big files)
    version: int = 1
    comment: str = ""

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else Path(self.path).stat().st_size

    def read_chunks(self, size: int = 1 << 16):
        if self.data is not None:
            for i in range(0, len(self.data), size):
                yield self.data[i : i + size]
            return
        with Path(self.path).open("rb") as fh:
            while block := fh.read(size):
                yield block


@dataclass
class Fault:
    route: str  # substring of "<path>?<query>"
    status: int
    count: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    method: str | None = None
    when_limit_over: int | None = None  # only requests asking for more than this many results


@dataclass
class RequestRecord:
    method: str
    path: str  # without the base path: "/rest/api/content/123"
    query: dict[str, str]
    status: int = 0
    user: str | None = None


class ConfluenceState:
    def __init__(self, base_path: str = "/wiki", clock: Clock | None = None, max_limit: int = 100):
        self.base_path = base_path.rstrip("/")
        self.clock = clock or Clock()
        self.max_limit = max_limit  # the server caps `limit` like Cloud does; clients must follow next links
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # secret (API token or PAT) -> accountId
        self.spaces: dict[str, Space] = {}
        self.contents: dict[str, Content] = {}
        self.attachments: dict[str, Attachment] = {}
        self.properties: dict[tuple[str, str], dict] = {}
        self.faults: list[Fault] = []
        self.delays: list[list[Any]] = []  # [method, path, seconds, count]: answers held back
        self.requests: list[RequestRecord] = []
        self.lock = threading.RLock()
        self.seed: Any = None  # the SeedResult of seed_from_wiki, for second_sync
        # The site-level switch for anonymous visitors (DC: global "Use Confluence" for Anonymous; Cloud: site
        # settings > Anonymous access). Off, as on a new Cloud site: a space's Anonymous grant then lets no
        # visitor in. No REST route reads it with a normal token; requests without credentials show it.
        self.anonymous_access = False
        # When set (an origin like http://127.0.0.1:8001): attachments live elsewhere. `_links.download` is an
        # absolute link there, and Cloud's download route redirects there (as Cloud does to its media host).
        self.download_origin: str | None = None
        self._ids = itertools.count(100001)
        self.add_user(User(SERVICE_ACCOUNT, "Lore Service", SERVICE_EMAIL, "Europe/Berlin",
                           {"confluence-users"}, superuser=True))
        self.tokens[SERVICE_TOKEN] = SERVICE_ACCOUNT
        self.tokens[SERVICE_PAT] = SERVICE_ACCOUNT

    # --- building -----------------------------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, user: User, token: str | None = None) -> User:
        self.users[user.account_id] = user
        if token:
            self.tokens[token] = user.account_id
        return user

    def add_space(self, key: str, name: str, groups: set[str] = frozenset({"confluence-users"}),
                  users: set[str] = frozenset(), anonymous: bool = False) -> Space:
        space = Space(key, name, read_users=set(users), read_groups=set(groups), anonymous=anonymous,
                      id=len(self.spaces) + 1)
        self.spaces[key] = space
        return space

    def add_content(self, type_: str, space: str, title: str, body: str, parent_id: str | None = None,
                    when: datetime | None = None, **extra: Any) -> Content:
        when = when or self.clock.now()
        item = Content(self.next_id(), type_, title, space, body, when, when, parent_id, **extra)
        self.contents[item.id] = item
        if type_ == "page" and parent_id is None and self.spaces[space].homepage_id is None:
            self.spaces[space].homepage_id = item.id
        return item

    def add_page(self, space: str, title: str, body: str, parent_id: str | None = None, **kw: Any) -> Content:
        return self.add_content("page", space, title, body, parent_id, **kw)

    def add_blogpost(self, space: str, title: str, body: str, **kw: Any) -> Content:
        return self.add_content("blogpost", space, title, body, **kw)

    def add_comment(self, page_id: str, body: str, **kw: Any) -> Content:
        page = self.contents[page_id]
        return self.add_content("comment", page.space, f"Re: {page.title}", body, page_id, **kw)

    def add_attachment(self, page_id: str, title: str, media_type: str, data: bytes | None = None,
                       path: Path | str | None = None, when: datetime | None = None) -> Attachment:
        att = Attachment(f"att{self.next_id()}", page_id, title, media_type, when or self.clock.now(), data,
                         Path(path) if path else None)
        self.attachments[att.id] = att
        return att

    def restrict(self, content_id: str, users: set[str] = frozenset(), groups: set[str] = frozenset()) -> None:
        item = self.contents[content_id]
        item.read_users, item.read_groups = set(users), set(groups)

    def edit(self, content_id: str, body: str | None = None, title: str | None = None,
             parent_id: str | None = None) -> Content:
        """A new version at the clock's "now" (moves count as edits, as in Confluence)."""
        item = self.contents[content_id]
        item.body = body if body is not None else item.body
        item.title = title if title is not None else item.title
        item.parent_id = parent_id if parent_id is not None else item.parent_id
        item.version += 1
        item.when = self.clock.now()
        return item

    def move(self, content_id: str, parent_id: str) -> Content:
        """Move a page (with its subtree) under another page, in its space or another one.

        Like Confluence: neither the version nor `lastmodified` changes, so an incremental CQL sync does not
        see the move; the page inherits the restrictions of its new ancestors at once.
        """
        item, parent = self.contents[content_id], self.contents[parent_id]
        if item.type != "page" or parent.type != "page":
            raise ValueError("only pages move, and only under pages")
        if parent_id == content_id or item in self.ancestors(parent):
            raise ValueError(f"page {content_id} cannot move under itself or its own descendant {parent_id}")
        if self.spaces[item.space].homepage_id == content_id:
            raise ValueError(f"page {content_id} is the home page of {item.space}")
        item.parent_id = parent_id
        if parent.space != item.space:  # the subtree goes along, with its comments
            moving = {content_id}
            for other in sorted(self.contents.values(), key=lambda c: len(self.ancestors(c))):
                if other.parent_id in moving:
                    moving.add(other.id)
            for cid in moving:
                self.contents[cid].space = parent.space
        return item

    def set_groups(self, account_id: str, groups: set[str]) -> None:
        """A user's group membership changes (an admin edits the group): no content changes."""
        self.users[account_id].groups = set(groups)

    def set_space_read(self, key: str, groups: set[str] | None = None, users: set[str] | None = None,
                       anonymous: bool | None = None) -> Space:
        """Change who may read a space (the space's "View" permission); content versions stay as they are."""
        space = self.spaces[key]
        if groups is not None:
            space.read_groups = set(groups)
        if users is not None:
            space.read_users = set(users)
        if anonymous is not None:
            space.anonymous = anonymous
        return space

    def delete_space(self, key: str, deleted: bool = True) -> None:
        """Move a space to the trash (`deleted=False` restores it with its content, as Cloud's trash does)."""
        self.spaces[key].deleted = deleted

    def delete(self, content_id: str) -> None:
        """Delete content with its comments and attachments (children move up, as Confluence does)."""
        item = self.contents.pop(content_id)
        for other in list(self.contents.values()):
            if other.parent_id == content_id:
                if other.type == "comment":
                    del self.contents[other.id]
                else:
                    other.parent_id = item.parent_id
        for att in [a for a in self.attachments.values() if a.page_id == content_id]:
            del self.attachments[att.id]

    def inject(self, route: str, status: int, count: int = 1, headers: dict[str, str] | None = None,
               body: Any = None, method: str | None = None, when_limit_over: int | None = None) -> Fault:
        fault = Fault(route, status, count, dict(headers or {}), body, method, when_limit_over)
        self.faults.append(fault)
        return fault

    # --- reading ------------------------------------------------------------------------------------

    def ancestors(self, item: Content) -> list[Content]:
        """Page ancestors from the root down (for comments: the page's ancestors and the page)."""
        chain: list[Content] = []
        node = self.contents.get(item.parent_id) if item.parent_id else None
        while node is not None:
            chain.append(node)
            node = self.contents.get(node.parent_id) if node.parent_id else None
        return chain[::-1]

    def in_space(self, user: User, space: Space) -> bool:
        if space.deleted:
            return False
        # an Anonymous grant lets in anonymous visitors (only where the site admits them) and logged-in users
        return (user.superuser or space.anonymous or user.account_id in space.read_users
                or bool(user.groups & space.read_groups))

    def passes(self, user: User, item: Content) -> bool:
        if user.superuser:
            return True
        if item.status == "draft":
            return item.author == user.account_id
        return not item.restricted or user.account_id in item.read_users or bool(user.groups & item.read_groups)

    def can_read(self, user: User, item: Content) -> bool:
        """Space permission, then the item's own read restriction and every (non-draft) ancestor's."""
        if not self.in_space(user, self.spaces[item.space]) or not self.passes(user, item):
            return False
        return all(self.passes(user, a) for a in self.ancestors(item) if a.status != "draft")

    def anonymous_visitor(self) -> User | None:
        """Who a request without credentials is: an anonymous visitor where the site lets them in, else nobody."""
        return ANONYMOUS if self.anonymous_access else None

    def user_for_token(self, secret: str, email: str | None = None) -> User | None:
        account = self.tokens.get(secret)
        user = self.users.get(account) if account else None
        if user is None or (email is not None and user.email.lower() != email.lower()):
            return None
        return user

    def delay(self, method: str, route: str, seconds: float, count: int = 1) -> None:
        """Hold back the next `count` answers to `method` on exactly the path `route`, after the change is made."""
        with self.lock:
            self.delays.append([method, route, seconds, count])

    def take_delay(self, method: str, path: str) -> float:
        with self.lock:
            for entry in self.delays:
                if entry[3] > 0 and entry[0] == method and entry[1] == path:
                    entry[3] -= 1
                    return entry[2]
        return 0.0

    def take_fault(self, method: str, full_path: str, limit: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.count <= 0 or fault.route not in full_path:
                continue
            if fault.method and fault.method != method:
                continue
            if fault.when_limit_over is not None and (limit is None or limit <= fault.when_limit_over):
                continue
            fault.count -= 1
            return fault
        return None

    def paths(self) -> list[str]:
        """Paths requested so far, in order (for route assertions)."""
        return [r.path for r in self.requests]
