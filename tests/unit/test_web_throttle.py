"""The admin sign-in throttle: how many wrong tokens an address may send, for how long it is refused, and that
its memory stays bounded whatever the number of addresses."""

from __future__ import annotations

from backend.web.throttle import SignInThrottle, refusal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_the_allowed_wrong_tokens_until_the_window_has_passed() -> None:
    clock = Clock()
    throttle = SignInThrottle(attempts=3, lockout_s=900, clock=clock)
    for _ in range(2):
        throttle.failed("203.0.113.7")
        clock.now += 10
    assert throttle.wait_s("203.0.113.7") == 0  # two mistakes: still allowed
    throttle.failed("203.0.113.7")
    assert throttle.wait_s("203.0.113.7") == 880  # the first failure (20 s ago) ages out in 880 s
    assert throttle.wait_s("198.51.100.2") == 0  # other addresses are not affected
    clock.now += 880
    assert throttle.wait_s("203.0.113.7") == 0
    assert refusal(880) == "Too many wrong admin tokens from this computer. Wait 15 minutes and try again."
    assert refusal(2).endswith("Wait 1 minute and try again.")


def test_a_right_token_clears_the_addresss_mistakes() -> None:
    clock = Clock()
    throttle = SignInThrottle(attempts=3, lockout_s=900, clock=clock)
    throttle.failed("a")
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait_s("a") == 0


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    clock = Clock()
    throttle = SignInThrottle(attempts=5, lockout_s=900, max_clients=100, clock=clock)
    for i in range(10_000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
        throttle.failed("203.0.113.7")  # the one being refused is the most recently seen: it is kept
    assert len(throttle) == 100
    assert len(throttle._failures["203.0.113.7"]) == 5  # at most `attempts` timestamps per address
    assert throttle.wait_s("203.0.113.7") > 0
