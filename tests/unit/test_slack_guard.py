"""Replay and retry memory (bot.guard), the bounded answer pool (bot.pool), and Slack text as questions."""

from __future__ import annotations

import threading

from bot.guard import SeenKeys, delivery_key
from bot.pool import AnswerPool


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_refused_within_the_window_and_forgotten_after_it():
    clock = FakeClock()
    seen = SeenKeys(window=300, clock=clock)
    assert seen.first_time("v0=abc")
    clock.now += 299
    assert not seen.first_time("v0=abc")
    clock.now += 2
    assert seen.first_time("v0=abc")


def test_memory_is_bounded_by_forgetting_the_oldest_keys():
    seen = SeenKeys(window=300, max_keys=3, clock=FakeClock())
    for key in "abcd":
        assert seen.first_time(key)
    assert seen.first_time("a")  # the oldest went to make room
    assert not seen.first_time("d")


def test_a_delivery_is_known_by_its_event_id_else_its_trigger_id():
    assert delivery_key({"event_id": "Ev1", "trigger_id": "t"}) == "event:Ev1"
    assert delivery_key({"trigger_id": "123.456"}) == "trigger:123.456"
    assert delivery_key({"type": "url_verification"}) is None


def test_the_pool_refuses_beyond_its_capacity_and_finishes_what_it_accepted():
    gate = threading.Event()
    done: list[int] = []

    def job(n: int) -> None:
        gate.wait(10)
        done.append(n)

    pool = AnswerPool(workers=1, queue_size=2)
    assert [pool.submit(job, n) for n in range(4)] == [True, True, True, False]
    assert (pool.submitted, pool.refused) == (3, 1)
    gate.set()
    pool.close(wait=True)
    assert sorted(done) == [0, 1, 2]
    assert not pool.submit(job, 9)  # closed: nothing more is taken


def test_a_question_loses_slack_escapes_and_a_mention_its_leading_mentions():
    from bot.text import from_mrkdwn, mention_question, plain_text

    assert plain_text("  Q&amp;A for &lt;release&gt;\n process ") == "Q&A for <release> process"

    assert mention_question("<@U0LOREBOT> what is  <the> plan &amp; who\nowns it?") == \
        "what is <the> plan & who owns it?"
    assert mention_question("<@U0LOREBOT|lore> <@U0BOB> hi") == "hi"
    assert mention_question("<@U0LOREBOT>") == ""
    assert from_mrkdwn("*Binh* and Tamas <https://w.example/p?a=1&amp;b=2|[1]> &amp; <https://x.example>") == \
        "Binh and Tamas [1] & https://x.example"
