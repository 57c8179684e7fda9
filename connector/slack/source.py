"""Slack as a `connector.source.Source`: a channel plays the role of a space, each thread is one document.

Opening a channel reads its info and its members (handed to `on_members`, which stores them in the membership
side index: the ACL) and lists its whole history, paged to the end. That listing is the existence set (a thread
whose root is gone is pruned) and gives every thread a version from what it shows (reply count, last reply, root
edits), so new replies and deletions are seen on every sync. An edited *reply* changes nothing in the listing: the
replies of threads active within the re-read window (`LORE_SLACK_SOURCE_REREAD_HOURS` before now) are read on every
sync and their edits enter the version. Thread text is fetched (conversations.replies) only when the version changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from backend.channel_config import KEY_PREFIX, SOURCE
from backend.channels import Member, channel_identity
from backend.documents import PUBLIC
from backend.errors import SourceError, SourceNotFound
from backend.settings import SlackSourceSettings
from backend.slack.client import SlackChannels
from backend.spaces import SpaceConfig
from connector.slack import threads as t
from connector.source import Access, Existence, Skipped, Source, SourceDoc, SpaceView, Unit

log = logging.getLogger(__name__)

MembersHook = Callable[[str, list[Member]], object]  # (channel id, its members) -> stored somewhere


def doc_id(channel: str, ts: str) -> str:
    return f"{SOURCE}:thread:{channel}:{ts}"


def thread_ts(doc_id_: str) -> str:
    return doc_id_.rsplit(":", 1)[-1]


class SlackSource(Source):
    name = SOURCE

    def __init__(self, client: SlackChannels, settings: SlackSourceSettings, on_members: MembersHook | None = None,
                 *, clock: Callable[[], float] = time.time):
        self.client = client
        self.settings = settings
        self.on_members = on_members
        self.clock = clock
        self._users: dict[str, dict] = {}  # users.info answers, for this run
        self._workspace: str | None = None
        self._lock = threading.Lock()

    def open_space(self, space: SpaceConfig) -> SlackChannelView:
        return SlackChannelView(self, space)

    def workspace_url(self) -> str:
        with self._lock:
            if self._workspace is None:
                self._workspace = self.client.workspace_url()
            return self._workspace

    def user(self, user_id: str) -> dict:
        """users.info, once per user and run; an unknown user is {} (a bad token or throttling still raises)."""
        with self._lock:
            if user_id in self._users:
                return self._users[user_id]
        try:
            user = self.client.user(user_id)
        except SourceError as exc:
            if exc.code != SourceError.code:  # auth, throttling, unreachable: the sync cannot go on either
                raise
            user = {}
        with self._lock:
            self._users[user_id] = user
        return user

    def name_of(self, user_id: str, message: dict | None = None) -> str:
        profile = (message or {}).get("user_profile") or {}
        if profile.get("real_name") or profile.get("display_name"):
            return profile.get("real_name") or profile["display_name"]
        user = self.user(user_id)
        prof = user.get("profile") or {}
        return user.get("real_name") or prof.get("real_name") or prof.get("display_name") or user.get("name") \
            or user_id


class SlackChannelView(SpaceView):
    def __init__(self, source: SlackSource, space: SpaceConfig):
        self.src = source
        self.client = source.client
        self.key = space.key
        self.channel = space.key.removeprefix(KEY_PREFIX)
        self.timezone = "UTC"  # Slack timestamps are epoch seconds
        info = self.client.channel(self.channel)  # SourceNotFound when gone or the bot is not in it
        self.name = info.get("name") or self.channel
        acl = [channel_identity(self.channel)]
        if getattr(space, "public", False):
            if info.get("is_private"):
                log.warning("channel %s is private: it is readable by its members only, whatever its configuration "
                            "says", self.channel)
            else:
                acl.append(PUBLIC)
        self.access = Access(tuple(sorted(acl)))
        self._store_members()
        self._lock = threading.Lock()
        self._roots: dict[str, dict] = {m["ts"]: m for m in self.client.history(self.channel) if t.is_thread(m)}
        self._replies: dict[str, list[dict]] = {}  # thread ts -> its messages, for threads read while listing
        self._window_start = source.clock() - source.settings.reread_hours * 3600

    def _store_members(self) -> None:
        members = []
        for user_id in self.client.members(self.channel):
            user = self.src.user(user_id)
            hidden = user.get("is_bot") or user.get("deleted")
            members.append(Member(user_id, None if hidden else (user.get("profile") or {}).get("email") or None))
        if self.src.on_members is not None:
            self.src.on_members(self.channel, members)

    # ---- SpaceView ------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._roots)

    def units(self, since: datetime | None = None) -> list[Unit]:
        roots = list(self._roots.values())
        if since is not None:
            roots = [r for r in roots if t.activity(r) >= since.timestamp()]
        for root in roots:  # edits of replies show only in the replies: read them for recently active threads
            if t.activity(root) >= self._window_start and int(root.get("reply_count") or 0) > 0:
                self._read_replies(root)
        roots.sort(key=lambda r: (t.activity(r), float(r["ts"])))
        return [Unit(self._doc(r), t.when(t.activity(r))) for r in roots]

    def access_of(self, doc_id_: str, parent_id: str | None) -> Access | None:
        return self.access if thread_ts(doc_id_) in self._roots else None

    def existing(self) -> Existence:
        return Existence(ids={doc_id(self.channel, ts) for ts in self._roots}, top_complete=True)

    # ---- documents ------------------------------------------------------------------------------

    def _doc(self, root: dict) -> SourceDoc:
        with self._lock:
            replies = self._replies.get(root["ts"])
        return SourceDoc(
            id=doc_id(self.channel, root["ts"]), kind="thread", title=t.title(self.name, [root], self._names),
            url=t.permalink(self.src.workspace_url(), self.channel, root["ts"]), space=self.key,
            version=t.version(root, replies), updated=t.iso(t.activity(root)), access=self.access, source=SOURCE,
            fetch=self._fetch,
        )

    def _read_replies(self, root: dict) -> list[dict]:
        with self._lock:
            cached = self._replies.get(root["ts"])
        if cached is not None:
            return cached
        messages = self.client.replies(self.channel, root["ts"])
        with self._lock:
            self._replies[root["ts"]] = messages
        return messages

    def _fetch(self, doc: SourceDoc) -> str:
        root = self._roots[thread_ts(doc.id)]
        try:
            messages = self._read_replies(root) if int(root.get("reply_count") or 0) > 0 else [root]
        except SourceNotFound:
            raise Skipped("deleted in Slack while the sync ran") from None
        kept = t.people(messages)
        if not kept:
            raise Skipped("only bot messages and channel notices: nothing people wrote")
        # messages carry their author's profile (most do): no users.info call for those authors
        shown = {m["user"]: self.src.name_of(m["user"], m) for m in kept if m.get("user_profile")}

        def names(user_id: str) -> str:
            return shown.get(user_id) or self.src.name_of(user_id)

        doc.title = t.title(self.name, kept, names)
        return t.render(kept, names)

    def _names(self, user_id: str) -> str:
        return self.src.name_of(user_id)
