"""Slows down guessing of the admin token on the sign-in page: a client (its address) that sent
LORE_WEB_SIGN_IN_ATTEMPTS wrong tokens within LORE_WEB_SIGN_IN_LOCKOUT_MINUTES is refused, even with the right
token, until the oldest of those failures is that old. A right token clears the client's record.

In-process and bounded: at most MAX_CLIENTS addresses are remembered (the least recently seen is forgotten first),
each with at most `attempts` timestamps, so a flood of addresses cannot grow the memory. Each process (worker)
counts on its own. Behind a reverse proxy every client has the proxy's address (Lore installs no ProxyFix), so one
person's wrong tokens lock every admin out for the lockout time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # addresses remembered: ~1 MB at most, far more than a site's admins, enough for a botnet's


class SignInThrottle:
    def __init__(self, attempts: int, lockout_s: float, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic):
        self.attempts = max(1, attempts)
        self.lockout_s = max(0.0, lockout_s)
        self.max_clients = max(1, max_clients)
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may try now."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self.attempts:
                return 0.0
            return max(0.0, failures[0] + self.lockout_s - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self.attempts)
            failures.append(self.clock())
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, client: str) -> deque[float] | None:
        """The client's failures within the lockout window (older ones dropped); None when it has none."""
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self.clock() - self.lockout_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures


def refusal(wait_s: float) -> str:
    """What the sign-in page says to a client that is refused for now."""
    minutes = max(1, math.ceil(wait_s / 60))
    return (f"Too many wrong admin tokens from this computer. Wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again.")
