"""Who is asking: Slack user id -> email (`users.info`) -> Confluence identities (backend.identity).

Never more access than certain: a hidden email, a bot, an email Confluence does not know, or Slack being
unreachable gives `public` only, and the reply says which rule applied. Emails are cached per user id.

A reply posted in a channel is read by every member, so `channel()` builds an `Audience`: each member's
identities, and a page is used only when all of them may open it. A member Lore cannot match to a person
(another app, a hidden email) reads public pages only, which narrows the whole channel to public pages;
so does a channel with more members than `LORE_SLACK_CHANNEL_AUDIENCE_MAX` or one whose members Slack will
not list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

from backend.acl import Audience
from backend.documents import PUBLIC
from backend.identity import IdentityResolver
from bot import messages
from bot.blocks import escape
from bot.slack import SlackError, channel_members, user_email

log = logging.getLogger(__name__)

FAILURE_CACHE_SECONDS = 60  # ask Slack again after a minute when users.info failed
MAX_CACHED = 10_000  # Slack users remembered: a workspace's people, bounded against abuse


@dataclass(frozen=True)
class Asker:
    user_id: str
    email: str | None
    identities: list[str]
    rule: str  # mrkdwn line for the reply: whose pages were searched, and why

    @property
    def public_only(self) -> bool:
        """No Confluence identity: public pages (and the Slack channels they are in, when indexed)."""
        return not any(i.startswith("confluence-") for i in self.identities)


@dataclass(frozen=True)
class Channel:
    """Who a channel reply is for: `identities` is an Audience, or `[public]` when the members are unknown."""

    channel_id: str
    identities: list[str] | Audience
    rule: str


class SlackIdentities:
    def __init__(self, client: WebClient, resolver: IdentityResolver, cache_seconds: float = 600,
                 *, clock: Callable[[], float] = time.monotonic, audience_max: int = 50,
                 bot_user: Callable[[], str | None] = lambda: None):
        self.audience_max = audience_max
        self.bot_user = bot_user  # Lore's own user id: it is in the channel, and reads nothing
        self._members: dict[str, tuple[float, list[str] | None, bool]] = {}  # channel -> (expires, ids, ok)
        self.client = client
        self.resolver = resolver
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._emails: dict[str, tuple[float, str | None, bool]] = {}  # user -> (expires, email, lookup ok)
        self._lock = threading.Lock()

    def asker(self, user_id: str) -> Asker:
        email, ok = self._email(user_id)
        if not ok:
            return Asker(user_id, None, [PUBLIC], messages.rule_public(messages.SLACK_UNREACHABLE))
        if not email:  # no Confluence match; the Slack channels they are in (when indexed) still count
            return Asker(user_id, None, self.resolver.resolve(None, slack_user=user_id),
                         messages.rule_public(messages.NO_EMAIL))
        identities = self.resolver.resolve(email, slack_user=user_id)
        asker = Asker(user_id, email, identities, messages.rule_private(escape(email)))
        if asker.public_only:
            return Asker(user_id, email, identities, messages.rule_public(messages.NOT_IN_CONFLUENCE))
        return asker

    def channel(self, channel_id: str) -> Channel:
        members, ok = self._channel_members(channel_id)
        if not ok:
            return Channel(channel_id, [PUBLIC], messages.rule_channel(messages.CHANNEL_UNREADABLE))
        if members is None:
            return Channel(channel_id, [PUBLIC], messages.rule_channel(messages.CHANNEL_TOO_BIG))
        me = self.bot_user()
        people = [m for m in members if m != me]
        readers = [self.asker(m).identities for m in people]
        if not readers or any(r == [PUBLIC] for r in readers):  # (a member with channels is still counted)
            # one member who reads public pages only narrows the whole channel to them: say so plainly
            return Channel(channel_id, [PUBLIC], messages.rule_channel(messages.CHANNEL_UNKNOWN_MEMBER))
        return Channel(channel_id, Audience(readers), messages.rule_members(len(people)))

    def _channel_members(self, channel_id: str) -> tuple[list[str] | None, bool]:
        now = self._clock()
        with self._lock:
            hit = self._members.get(channel_id)
            if hit and hit[0] > now:
                return hit[1], hit[2]
        try:
            members, ok, ttl = channel_members(self.client, channel_id, self.audience_max), True, self.cache_seconds
        except SlackError as exc:
            log.warning("conversations.members failed; the channel reply uses public pages only",
                        extra={"error": str(exc), "channel": channel_id})
            members, ok, ttl = None, False, FAILURE_CACHE_SECONDS
        with self._lock:
            if len(self._members) >= MAX_CACHED:
                self._members.clear()
            self._members[channel_id] = (now + ttl, members, ok)
        return members, ok

    def _email(self, user_id: str) -> tuple[str | None, bool]:
        now = self._clock()
        with self._lock:
            hit = self._emails.get(user_id)
            if hit and hit[0] > now:
                return hit[1], hit[2]
        try:
            email, ok, ttl = user_email(self.client, user_id), True, self.cache_seconds
        except SlackError as exc:
            log.warning("users.info failed; the asker sees public pages only", extra={"error": str(exc)})
            email, ok, ttl = None, False, FAILURE_CACHE_SECONDS
        with self._lock:
            if len(self._emails) >= MAX_CACHED:
                self._emails.clear()  # crude but bounded; a refill costs one users.info per active user
            self._emails[user_id] = (now + ttl, email, ok)
        return email, ok
