"""Who is asking: Slack user id -> email (`users.info`) -> Confluence identities (backend.identity).

Never more access than certain: a hidden email, a bot, an email Confluence does not know, or Slack being
unreachable gives `public` only, and the reply says which rule applied. Emails are cached per user id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

from backend.documents import PUBLIC
from backend.identity import IdentityResolver
from bot import messages
from bot.blocks import escape
from bot.slack import SlackError, user_email

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
        return self.identities == [PUBLIC]


class SlackIdentities:
    def __init__(self, client: WebClient, resolver: IdentityResolver, cache_seconds: float = 600,
                 *, clock: Callable[[], float] = time.monotonic):
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
        if not email:
            return Asker(user_id, None, [PUBLIC], messages.rule_public(messages.NO_EMAIL))
        identities = self.resolver.resolve(email)
        if identities == [PUBLIC]:
            return Asker(user_id, email, identities, messages.rule_public(messages.NOT_IN_CONFLUENCE))
        return Asker(user_id, email, identities, messages.rule_private(escape(email)))

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
