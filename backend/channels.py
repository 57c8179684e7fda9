"""Who is in each indexed Slack channel, kept in a small side index so membership works as an ACL.

A channel's documents carry `slack-channel:<C>`; the sync writes the channel's member list here (Slack user ids
and, where Slack shows them, their emails), and `backend.identity` gives `slack-channel:<C>` to a reader found in
it (by Slack user id when the bot asks, by email otherwise). A membership change thus reaches answers at the next
sync, with no re-embedding. Nothing here knows Slack's API: the connector hands the list in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from elasticsearch import Elasticsearch, NotFoundError

from backend.es import ensure_small_index, translated
from backend.settings import SlackSourceSettings
from backend.spaces import now_iso

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "slack-channel:"
_MAPPING = {
    "dynamic": False,
    "properties": {"channel": {"type": "keyword"}, "users": {"type": "keyword"}, "emails": {"type": "keyword"},
                   "updated": {"type": "date"}},
}
MAX_CHANNELS = 1000  # channels one reader can be matched to per lookup: far more than anyone indexes


def channel_identity(channel: str) -> str:
    return f"{CHANNEL_PREFIX}{channel}"


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str | None = None  # None when Slack hides it (or the member is a bot): matched by user id only


class ChannelMembers:
    """The membership side index (`LORE_SLACK_SOURCE_MEMBERS_INDEX`), one document per channel."""

    def __init__(self, es: Elasticsearch, settings: SlackSourceSettings):
        self.es = es
        self.index = settings.members_index
        self._ready = False

    def ensure(self) -> None:
        if not self._ready:
            ensure_small_index(self.es, self.index, _MAPPING, "channel membership index")
            self._ready = True

    def write(self, channel: str, members: Iterable[Member]) -> int:
        """Replace the member list of `channel` (what the sync just read); returns how many members it has."""
        members = list(members)
        users = sorted({m.user_id for m in members})
        emails = sorted({m.email.strip().lower() for m in members if m.email})
        self.ensure()
        with translated(self.es, f"saving the members of channel {channel}"):
            # refresh: a member added to a channel should find its documents as soon as they are indexed
            self.es.index(index=self.index, id=channel, refresh=True,
                          document={"channel": channel, "users": users, "emails": emails, "updated": now_iso()})
        return len(users)

    def remove(self, channel: str) -> None:
        """Forget a channel's members (the channel was removed from indexing)."""
        self.ensure()
        with translated(self.es, f"removing the members of channel {channel}"):
            try:
                self.es.delete(index=self.index, id=channel, refresh=True)
            except NotFoundError:
                pass

    def members(self, channel: str) -> dict | None:
        """{"users": [...], "emails": [...], "updated": ...} as last written, or None."""
        with translated(self.es, f"reading the members of channel {channel}"):
            try:
                return self.es.get(index=self.index, id=channel)["_source"]
            except NotFoundError:
                return None

    def channels_of(self, *, slack_user: str | None = None, email: str | None = None) -> list[str]:
        """The channels whose last synced member list holds this Slack user id or this email (case-insensitive)."""
        should = []
        if slack_user:
            should.append({"term": {"users": slack_user}})
        if email and email.strip():
            should.append({"term": {"emails": email.strip().lower()}})
        if not should:
            return []
        with translated(self.es, "looking up a reader's Slack channels"):
            # ignore_unavailable: before the first channel sync there is no index, and no reader is in a channel
            hits = self.es.search(index=self.index, size=MAX_CHANNELS, _source=["channel"], ignore_unavailable=True,
                                  query={"bool": {"should": should, "minimum_should_match": 1}})["hits"]["hits"]
        return sorted(h["_source"]["channel"] for h in hits)

    def identities(self, *, slack_user: str | None = None, email: str | None = None) -> list[str]:
        return [channel_identity(c) for c in self.channels_of(slack_user=slack_user, email=email)]
