"""The one thin module through which the backend and the connector read Slack channels (slack_sdk's WebClient).

Every list is paged by `next_cursor` to its end (Onyx lost everything after page one); 429s are retried after
`Retry-After` and dropped connections retried, by slack_sdk's retry handlers. Failures leave as Lore's source
errors, which the sync runner understands: a bad token is `SourceAuthError`, a channel the bot cannot read is
`SourceNotFound`, throttling beyond the retries is `RateLimited`, an unreachable Slack is `ServiceUnavailable`.
(The bot's own calls live in bot/slack.py; backend cannot import bot.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from backend.errors import RateLimited, ServiceUnavailable, SourceAuthError, SourceError, SourceNotFound
from backend.settings import SlackSettings, SlackSourceSettings

log = logging.getLogger(__name__)

# Slack's answers that mean "this token will not work for anything"
AUTH_ERRORS = {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission",
               "missing_scope", "not_allowed_token_type"}
# ... and "this channel is not there for this bot" (deleted, private without the bot, archived away)
GONE_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "thread_not_found", "message_not_found"}
CHANNEL_TYPES = "public_channel,private_channel"


class SlackChannels:
    """Reads channels, their history, threads and members with the bot token, at `LORE_SLACK_API_URL`."""

    def __init__(self, slack: SlackSettings, source: SlackSourceSettings, client: WebClient | None = None):
        self.page_size = max(1, source.page_size)
        self.api_url = slack.api_url
        base = slack.api_url if slack.api_url.endswith("/") else slack.api_url + "/"
        handlers = [RateLimitErrorRetryHandler(max_retry_count=source.max_retries),
                    ConnectionErrorRetryHandler(max_retry_count=source.max_retries)]
        self.client = client or WebClient(token=slack.bot_token or None, base_url=base,
                                          timeout=int(max(1, slack.timeout)), retry_handlers=handlers)

    # ---- single calls ---------------------------------------------------------------------------

    def workspace_url(self) -> str:
        """`https://<workspace>.slack.com/` from auth.test (permalinks are built on it); fails on a bad token."""
        return self._call("auth.test", self.client.auth_test).get("url") or ""

    def channel(self, channel: str) -> dict:
        """conversations.info: id, name, is_private, is_member..."""
        return self._call("conversations.info", self.client.conversations_info, channel=channel).get("channel") or {}

    def user(self, user_id: str) -> dict:
        return self._call("users.info", self.client.users_info, user=user_id).get("user") or {}

    def permalink(self, channel: str, ts: str) -> str:
        return self._call("chat.getPermalink", self.client.chat_getPermalink, channel=channel,
                          message_ts=ts).get("permalink") or ""

    # ---- paged lists ----------------------------------------------------------------------------

    def channels(self) -> Iterator[dict]:
        """Every public channel, and every private one the bot is in (conversations.list), not archived."""
        yield from self._pages("conversations.list", self.client.conversations_list, "channels",
                               types=CHANNEL_TYPES, exclude_archived=True)

    def history(self, channel: str, oldest: str | None = None) -> Iterator[dict]:
        """The channel's top-level messages (thread roots carry reply_count, latest_reply), newest first."""
        kwargs = {"oldest": oldest} if oldest else {}
        yield from self._pages("conversations.history", self.client.conversations_history, "messages",
                               channel=channel, **kwargs)

    def replies(self, channel: str, ts: str) -> list[dict]:
        """A thread's root and replies, oldest first."""
        return list(self._pages("conversations.replies", self.client.conversations_replies, "messages",
                                channel=channel, ts=ts))

    def members(self, channel: str) -> list[str]:
        return list(self._pages("conversations.members", self.client.conversations_members, "members",
                                channel=channel))

    # ---- plumbing -------------------------------------------------------------------------------

    def _pages(self, method: str, fn, key: str, **kwargs: Any) -> Iterator[Any]:
        cursor = None
        while True:
            data = self._call(method, fn, limit=self.page_size, cursor=cursor, **kwargs)
            yield from data.get(key) or []
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _call(self, method: str, fn, **kwargs: Any) -> dict:
        try:
            return fn(**{k: v for k, v in kwargs.items() if v is not None}).data
        except SlackApiError as exc:
            raise _translate(method, exc) from None
        except (SlackClientError, OSError) as exc:
            raise ServiceUnavailable("Slack", self.api_url, f"{method}: {type(exc).__name__}",
                                     "Check LORE_SLACK_API_URL and the network.") from None


def _translate(method: str, exc: SlackApiError) -> SourceError:
    resp = exc.response
    error = (resp.get("error") if resp is not None else None) or "unknown"
    status = getattr(resp, "status_code", 0)
    if error == "ratelimited" or status == 429:
        return RateLimited(f"Slack kept throttling {method} after the retries (LORE_SLACK_SOURCE_MAX_RETRIES); the "
                           "next sync resumes from the last checkpoint.")
    if error in AUTH_ERRORS:
        return SourceAuthError(f"Slack refused the bot token for {method} ({error}): check LORE_SLACK_BOT_TOKEN and "
                               "that the app has the channels:history, groups:history, channels:read, groups:read "
                               "and users:read.email scopes (manifests/slack/manifest.yaml).")
    if error in GONE_ERRORS:
        return SourceNotFound(f"Slack answered {error} to {method}: the channel is gone, or Lore's bot is not in it "
                              "(invite it with /invite @Lore).")
    return SourceError(f"Slack refused {method}: {error}.", retryable=status >= 500)
