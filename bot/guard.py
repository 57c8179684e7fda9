"""What bolt's signature check leaves open: replays of a signed request, and Slack's own retries.

bolt rejects a bad signature or a timestamp more than 5 minutes off (401). Within those 5 minutes a captured
request could be sent again with its valid signature: `replay_guard` answers 401 to a signature it has
already seen. Slack retries a delivery it thinks was lost (`X-Slack-Retry-Num`, with a fresh signature):
`retry_dedup` acknowledges a delivery it has already seen (same `event_id`, or `trigger_id` for commands and
clicks) and runs nothing, so a retry never produces a second answer.

Both remember keys in this process for the window; one `python -m bot` process serves a workspace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

# bolt refuses timestamps more than 5 minutes off, in either direction: a signature can only be replayed
# within 5 minutes of its timestamp, so remembering it for 10 covers both sides of the clock
REPLAY_WINDOW_SECONDS = 600
# Slack retries an event up to 3 times within about 5 minutes of the first try; 10 covers slow deliveries
RETRY_WINDOW_SECONDS = 600
MAX_KEYS = 200_000  # ~30 MB at worst; far above any workspace's deliveries in 10 minutes


class SeenKeys:
    """A set of keys that forgets each one `window` seconds after it was added; bounded by `max_keys`."""

    def __init__(self, window: float, max_keys: int = MAX_KEYS, *, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, float] = OrderedDict()  # key -> expiry, oldest first
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True (and remembered) if `key` was not seen within the window; False for a repeat."""
        now = self._clock()
        with self._lock:
            while self._keys:
                oldest, expires = next(iter(self._keys.items()))
                if expires > now and len(self._keys) < self.max_keys:
                    break
                del self._keys[oldest]
            if key in self._keys:
                return False
            self._keys[key] = now + self.window
            return True


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name.lower()) or []
    return values[0] if values else None


def replay_guard(seen: SeenKeys) -> Callable:
    """bolt middleware, run right after the signature check (App(before_authorize=...))."""

    def guard(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        if req.mode != "http":  # Socket Mode requests arrive over the app's own authenticated connection
            return next()
        signature = _header(req, "x-slack-signature")
        if signature and not seen.first_time(signature):
            log.warning("refused a replayed Slack request (its signature was already used)",
                        extra={"slack_request_timestamp": _header(req, "x-slack-request-timestamp")})
            return BoltResponse(status=401, body="")
        return next()

    return guard


def delivery_key(body: dict) -> str | None:
    """What identifies one delivery across Slack's retries: `event_id` (events), else `trigger_id`."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def retry_dedup(seen: SeenKeys) -> Callable:
    """bolt middleware: a delivery already seen is acknowledged (200, empty) and nothing else runs."""

    def dedup(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        key = delivery_key(req.body)
        if key is None or seen.first_time(key):
            return next()
        log.info("ignored a repeated Slack delivery", extra={
            "delivery": key, "retry_num": _header(req, "x-slack-retry-num"),
            "retry_reason": _header(req, "x-slack-retry-reason")})
        return BoltResponse(status=200, body="")

    return dedup
