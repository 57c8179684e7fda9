"""A bounded pool for the slow half of a command: `workers` answer at once, `queue_size` more wait their turn.

`submit` never blocks and never drops silently: it returns False when the pool is full, so the listener can
tell the asker before acknowledging. (bolt's lazy listeners hand every request to an unbounded executor
queue and cannot refuse one, so the acknowledging listener submits here itself.) `close` lets every
accepted question finish: none that was acknowledged with "Searching…" is lost on a clean shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class AnswerPool:
    def __init__(self, workers: int, queue_size: int, name: str = "lore-slack"):
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (LORE_SLACK_WORKERS), not {workers}")
        if queue_size < 0:
            raise ValueError(f"queue_size must be 0 or more (LORE_SLACK_QUEUE_SIZE), not {queue_size}")
        self.workers = workers
        self.capacity = workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._accepted = 0  # submitted and not finished
        self._running = 0
        self.submitted = 0  # accepted since start (for the health page and tests)
        self.refused = 0  # turned away because the pool was full
        self._closed = False

    @property
    def waiting(self) -> int:
        """Accepted questions that no worker has started yet."""
        with self._lock:
            return self._accepted - self._running

    @property
    def ahead(self) -> int:
        """Accepted questions that must finish or start before a question submitted now can start."""
        with self._lock:
            return max(0, self._accepted - self.workers + 1)

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    def submit(self, fn: Callable[..., Any], *args: Any) -> bool:
        with self._lock:
            if self._closed or self._accepted >= self.capacity:
                self.refused += 1
                return False
            self._accepted += 1
            self.submitted += 1
        try:
            self._executor.submit(self._run, fn, args)
        except RuntimeError:  # the executor shut down between the check and here
            with self._lock:
                self._accepted -= 1
                self.submitted -= 1
                self.refused += 1
            return False
        return True

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        with self._lock:
            self._running += 1
        try:
            fn(*args)
        except Exception:  # the job reports to the user itself; this is the last line of defence
            log.exception("a Slack job failed")
        finally:
            with self._lock:
                self._running -= 1
                self._accepted -= 1

    def close(self, wait: bool = True) -> None:
        """Accept nothing more; with `wait`, return once every accepted question is answered."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait)
