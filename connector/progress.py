"""Progress bars for `python -m connector sync`: one tqdm bar per space, pages/s and an ETA from the page count.

The runner knows the page total once the space is listed; the bar is created then and follows the batches.
"""

from __future__ import annotations

import contextlib
import sys
from types import TracebackType

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from connector.runner import Progress


class ProgressBars:
    """`update` is the runner's progress hook; log lines are routed above the bars while they are shown."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bars: dict[str, tqdm] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ProgressBars:
        if self.enabled:
            self._stack.enter_context(logging_redirect_tqdm())
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for bar in self._bars.values():
            bar.close()
        self._stack.close()

    def update(self, p: Progress) -> None:
        if not self.enabled:
            return
        bar = self._bars.get(p.space)
        if bar is None:
            if p.phase == "listing":
                print(f"{p.space}: listing the space...", file=sys.stderr)
                return
            # disable=None: no bar when stderr is not a terminal (cron, CI); the final report still prints
            bar = self._bars[p.space] = tqdm(total=p.total, desc=p.space, unit="page", file=sys.stderr,
                                             disable=None, dynamic_ncols=True)
        if p.total != bar.total:  # an incremental listing can grow while it is read
            bar.total = p.total
            bar.refresh()
        bar.update(max(0, p.done - bar.n))
        if p.phase != "indexing":
            bar.set_postfix_str(p.phase)
        if p.phase == "done":
            bar.close()
