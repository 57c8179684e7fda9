"""The one thin module that speaks to Slack's Web API and `response_url`s (slack_sdk).

Every call has a timeout and retries 429s after `Retry-After` and dropped connections (slack_sdk's retry
handlers). Failures leave as `SlackError`, never as slack_sdk or urllib exceptions.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from backend.errors import LoreError
from backend.settings import SlackSettings

log = logging.getLogger(__name__)

MEMBERS_PAGE = 200  # conversations.members page size
REPLIES_PAGE = 200  # conversations.replies page size (Slack allows up to 1000; 200 is its recommendation)


class SlackError(LoreError):
    """Slack refused a call or could not be reached. `str()` names the method, never a token."""

    code = "slack_error"
    http_status = 502


def _retry_handlers(settings: SlackSettings) -> list:
    return [RateLimitErrorRetryHandler(max_retry_count=settings.max_retries),
            ConnectionErrorRetryHandler(max_retry_count=settings.max_retries)]


def web_client(settings: SlackSettings) -> WebClient:
    """The bot's Web API client at `LORE_SLACK_API_URL`; nothing is called until a method is used."""
    base = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return WebClient(token=settings.bot_token or None, base_url=base, timeout=int(max(1, settings.timeout)),
                     retry_handlers=_retry_handlers(settings))


def _call(method: str, fn, **kwargs: Any) -> dict:
    try:
        return fn(**kwargs).data
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
        raise SlackError(f"Slack refused {method}: {error}.", retryable=error in ("ratelimited",)) from None
    except (SlackClientError, OSError) as exc:
        raise SlackError(f"Slack could not be reached for {method} ({type(exc).__name__}).",
                         retryable=True) from None


def auth_test(client: WebClient) -> dict:
    """Who the bot token belongs to: `user_id` (the bot user), `team_id`, `bot_id`."""
    return _call("auth.test", client.auth_test)


def user_email(client: WebClient, user_id: str) -> str | None:
    """The user's email from `users.info` (needs users:read.email); None when hidden, a bot, or deactivated."""
    user = _call("users.info", client.users_info, user=user_id).get("user") or {}
    if user.get("deleted") or user.get("is_bot"):
        return None
    return (user.get("profile") or {}).get("email") or None


def post_message(client: WebClient, channel: str, thread_ts: str | None, message: dict) -> dict:
    """`chat.postMessage` of a rendered message (its `text` and `blocks`), in a thread when `thread_ts` is given."""
    return _call("chat.postMessage", client.chat_postMessage, channel=channel, thread_ts=thread_ts,
                 text=message["text"], blocks=message.get("blocks"))


def open_view(client: WebClient, trigger_id: str, view: dict) -> dict:
    """`views.open`: a modal, for the click whose `trigger_id` it is (Slack accepts it for 3 seconds)."""
    return _call("views.open", client.views_open, trigger_id=trigger_id, view=view)


def thread_messages(client: WebClient, channel: str, thread_ts: str, max_messages: int) -> list[dict]:
    """The thread's messages, oldest first, following `next_cursor` to the end (or `max_messages`)."""
    out: list[dict] = []
    cursor = None
    while len(out) < max_messages:
        data = _call("conversations.replies", client.conversations_replies, channel=channel, ts=thread_ts,
                     cursor=cursor, limit=min(REPLIES_PAGE, max_messages - len(out)))
        out += data.get("messages") or []
        cursor = (data.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return out


def channel_members(client: WebClient, channel: str, max_members: int) -> list[str] | None:
    """The channel's member ids (`conversations.members`, paged to the end); None when it has more than
    `max_members` (the caller then stops asking who they all are)."""
    out: list[str] = []
    cursor = None
    while True:
        data = _call("conversations.members", client.conversations_members, channel=channel, cursor=cursor,
                     limit=MEMBERS_PAGE)
        out += data.get("members") or []
        if len(out) > max_members:
            return None
        cursor = (data.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return out


def respond(settings: SlackSettings, response_url: str, message: dict) -> None:
    """Post `message` to a `response_url` (up to 5 posts within 30 minutes of the command, per Slack)."""
    hook = WebhookClient(response_url, timeout=int(max(1, settings.timeout)), retry_handlers=_retry_handlers(settings))
    try:
        resp = hook.send_dict(message)
    except (SlackClientError, OSError) as exc:
        raise SlackError(f"Slack could not be reached to post a reply ({type(exc).__name__}).",
                         retryable=True) from None
    if resp.status_code != 200:
        raise SlackError(f"Slack refused the reply: HTTP {resp.status_code} {resp.body[:100]!r}.",
                         retryable=resp.status_code >= 500 or resp.status_code == 429)
