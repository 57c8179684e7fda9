"""`SlackBot`: the long-lived objects the listeners share (settings, services, Slack client, pool, guards)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from backend.api.services import Services
from backend.settings import Settings
from bot.guard import SeenKeys
from bot.identity import SlackIdentities
from bot.pool import AnswerPool


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

    def close(self, wait: bool = True) -> None:
        """Stop taking questions; with `wait`, return when every accepted one is answered."""
        self.pool.close(wait=wait)
