"""A hard time limit for tests of pathological input: a quadratic regexp fails the test in seconds, not hours.

SIGALRM interrupts the regexp engine and pure-Python loops alike (CPython checks for signals in both);
it needs the main thread, which is where pytest runs tests.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

T = TypeVar("T")


@contextmanager
def finishes_within(seconds: float, what: str) -> Iterator[None]:
    def expired(_signum, _frame):
        raise pytest.fail.Exception(f"{what} did not finish within {seconds:g} s", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(fn: Callable[[], T], seconds: float, what: str) -> tuple[T, float]:
    """`fn()` and the seconds it took, failing the test if it runs past `seconds`."""
    with finishes_within(seconds, what):
        started = time.perf_counter()
        result = fn()
    return result, time.perf_counter() - started
