"""Who is asking, as ACL identities: an email -> `confluence-user:<id>`, `confluence-group:<g>`..., `public`.

Never more access than certain: an unknown or hidden email, a missing Confluence, or a failed lookup gives
`public` only. Answers are cached per email for `cache_seconds`; failures for FAILURE_CACHE_SECONDS, so
a Confluence outage costs one slow lookup a minute, not one per question.

With `channels` (backend/channels.py), a reader in the member list of an indexed Slack channel, as the last sync
read it, also gets `slack-channel:<C>` (by Slack user id when the bot asks, by email otherwise). That lookup is one
small query per question, never cached, so a membership change counts from the sync that reads it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from backend.documents import CONFLUENCE_ANONYMOUS, PUBLIC
from backend.errors import LoreError

if TYPE_CHECKING:
    from backend.channels import ChannelMembers

log = logging.getLogger(__name__)

FAILURE_CACHE_SECONDS = 60  # retry a failed lookup after a minute: fresh enough, and spares a sick server
MAX_EMAIL_CHARS = 254  # RFC 5321's limit on a forward path
MAX_ACCOUNT_CHARS = 128  # Cloud accountIds are <= 128 characters; DC user names far shorter
MAX_CACHED = 10_000  # emails kept; a team's people, with room to spare, bounded against abuse


class DirectoryClient(Protocol):
    """The two calls of backend.confluence.client.ConfluenceClient this module needs."""

    def find_user_by_email(self, email: str) -> dict[str, Any] | None: ...

    def user_groups(self, account_id: str) -> list[str]: ...

    def find_user_by_username(self, username: str) -> dict[str, Any] | None: ...


class IdentityResolver:
    def __init__(self, confluence: DirectoryClient | None, cache_seconds: float = 600,
                 *, clock: Callable[[], float] = time.monotonic, channels: ChannelMembers | None = None):
        self.confluence = confluence
        self.channels = channels
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # directory lookups made (cache misses), for tests and the admin page

    def resolve(self, email: str | None, slack_user: str | None = None) -> list[str]:
        """The reader's identities: Confluence's for `email`, plus the Slack channels `slack_user` or `email` is in."""
        base = self._confluence(email)
        extra = self._channels(email, slack_user)
        if not extra:
            return base
        tail = [i for i in base if i in (CONFLUENCE_ANONYMOUS, PUBLIC)]
        return [i for i in base if i not in tail] + extra + tail

    def _channels(self, email: str | None, slack_user: str | None) -> list[str]:
        if self.channels is None:
            return []
        key = (email or "").strip().lower()
        valid = key if "@" in key and len(key) <= MAX_EMAIL_CHARS else None
        if not valid and not slack_user:
            return []
        try:
            return self.channels.identities(slack_user=slack_user, email=valid)
        except LoreError as exc:  # fewer identities is safe: the reader sees no channel content this time
            log.warning("Slack channel membership lookup failed; the asker's channels are left out",
                        extra={"error": str(exc)})
            return []

    def _confluence(self, email: str | None) -> list[str]:
        key = (email or "").strip().lower()
        if not key or "@" not in key or len(key) > MAX_EMAIL_CHARS or self.confluence is None:
            return [PUBLIC]
        return self._cached(f"email:{key}", lambda: self._find(self.confluence.find_user_by_email, key))

    def resolve_account(self, account_id: str | None) -> list[str]:
        """Identities of a Confluence Cloud account the caller vouches for (the Forge macro's verified principal)."""
        uid = (account_id or "").strip()
        if not uid or len(uid) > MAX_ACCOUNT_CHARS or self.confluence is None:
            return [PUBLIC]
        return self._cached(f"account:{uid}", lambda: self._identities({"accountId": uid}))

    def resolve_username(self, username: str | None) -> list[str]:
        """Identities of a Data Center user by login name (the DC macro's signed viewer)."""
        name = (username or "").strip()
        if not name or len(name) > MAX_ACCOUNT_CHARS or self.confluence is None:
            return [PUBLIC]

        return self._cached(f"username:{name.lower()}", lambda: self._find(self.confluence.find_user_by_username, name))

    def _cached(self, key: str, lookup: Callable[[], tuple[list[str], float]]) -> list[str]:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return list(hit[1])
        identities, ttl = lookup()
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()  # crude, but bounded; a refill costs one lookup per active user
            self._cache[key] = (now + ttl, identities)
        return list(identities)

    def _find(self, find: Callable[[str], dict[str, Any] | None], key: str) -> tuple[list[str], float]:
        """One directory lookup (by email or login name) -> (identities, seconds to keep them)."""
        self.lookups += 1
        try:
            user = find(key)
        except LoreError as exc:
            log.warning("Confluence user lookup failed; the asker sees public pages only",
                        extra={"error": str(exc)})
            return [PUBLIC], FAILURE_CACHE_SECONDS
        if not user:
            return [PUBLIC], self.cache_seconds  # unknown, or the email is hidden: public only
        return self._identities(user, counted=True)

    def _identities(self, user: dict[str, Any], counted: bool = False) -> tuple[list[str], float]:
        """A known user's identities: the user id, their groups, and what logged-in users may read."""
        if not counted:
            self.lookups += 1
        # Cloud has accountId; Data Center has userKey (and username on old versions)
        uid = user.get("accountId") or user.get("userKey") or user.get("username")
        if not uid:
            return [PUBLIC], self.cache_seconds
        identities = [f"confluence-user:{uid}"]
        ttl = self.cache_seconds
        try:
            identities += [f"confluence-group:{g}" for g in self.confluence.user_groups(uid)]
        except LoreError as exc:
            # fewer identities is safe (less access); retry soon rather than keep a partial answer long
            log.warning("Confluence group lookup failed; the asker's groups are left out",
                        extra={"error": str(exc)})
            ttl = FAILURE_CACHE_SECONDS
        # a matched person logs in to Confluence: what its "Anonymous" grants reach (see documents.py)
        return sorted(set(identities)) + [CONFLUENCE_ANONYMOUS, PUBLIC], ttl
