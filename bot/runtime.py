"""`SlackBot`: the long-lived objects the listeners share (settings, services, Slack client, pools, guards)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient

from backend.api.services import Services
from backend.settings import Settings
from bot.guard import SeenKeys
from bot.identity import SlackIdentities
from bot.pool import AnswerPool
from bot.slack import SlackError, auth_test

log = logging.getLogger(__name__)

CLICK_WORKERS = 1  # a vote is one small Elasticsearch write and one response_url post
CLICK_QUEUE = 200  # clicks waiting for that worker: a burst from a busy channel, not a sustained load


@dataclass
class SlackBot:
    settings: Settings
    services: Services  # the answer pipeline, in-process (built lazily on the first question)
    client: WebClient  # the bot token's Web API client (users.info)
    identities: SlackIdentities
    pool: AnswerPool
    signatures: SeenKeys  # signatures already used: replays
    deliveries: SeenKeys  # event_ids / trigger_ids already handled: Slack's retries
    bolt: App | None = None
    # feedback clicks (a vote write and a thank-you: milliseconds) have their own pool, so they never wait
    # behind, or are refused because of, questions waiting for the model
    clicks: AnswerPool = field(default_factory=lambda: AnswerPool(CLICK_WORKERS, CLICK_QUEUE, name="lore-clicks"))
    _bot_user_id: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bot_user_id(self) -> str | None:
        """Lore's own Slack user id (auth.test, asked once, off the ack path); None while Slack is unreachable."""
        with self._lock:
            if self._bot_user_id is None:
                try:
                    self._bot_user_id = auth_test(self.client).get("user_id") or None
                except SlackError as exc:
                    log.warning("auth.test failed; Lore's own messages are told apart by bot_id only: %s", exc)
            return self._bot_user_id

    def close(self, wait: bool = True) -> None:
        """Stop taking questions; with `wait`, return when every accepted one is answered (and click stored)."""
        self.pool.close(wait=wait)
        self.clicks.close(wait=wait)
