"""Feedback end to end: a signed `/ask` to the running bot, signed clicks on the buttons of the answer it
posted, and what an admin then reads from `GET /api/admin/feedback` (the real index throughout; the LLM on a
closed port, so answers are the sources, in about a second).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient

from backend.api import create_app
from backend.feedback import FeedbackStore
from backend.settings import Settings
from bot import messages
from bot.blocks import COMMENT_BLOCK, COMMENT_INPUT, COMMENT_VIEW, FEEDBACK_ACTIONS
from tests.integration.answer_corpus import MINUTES_0331, Corpus, closed_port_url, indexed, url
from tests.integration.slack_bot import RunningBot, settles
from tests.integration.test_slack_ask import QUESTION, ask, only_answer, start_bot, texts
from tests.standins.slack_app import slack_id
from tests.standins.slack_delivery import Delivery, action_body, view_submission_body

TOKEN = "admin-token-for-feedback-tests"
HELPFUL, NOT_HELPFUL = FEEDBACK_ACTIONS


@pytest.fixture(scope="module")
def corpus(es, settings, embedder, shared_data) -> Iterator[Corpus]:
    with indexed(es, settings, embedder, shared_data) as c:  # its feedback index is unique and deleted too
        yield c


@pytest.fixture(scope="module")
def offline(corpus, es, embedder, directory, slack) -> Iterator[RunningBot]:
    with start_bot(corpus, es, embedder, directory, slack, llm_url=closed_port_url()) as rb:
        yield rb


@pytest.fixture(scope="module")
def admin(corpus: Corpus) -> FlaskClient:
    """The backend's own app (not the bot's), reading the same feedback index with the admin token."""
    s = replace(corpus.settings, api=replace(corpus.settings.api, admin_token=TOKEN))
    return create_app(s).test_client()


def report(admin: FlaskClient, **args) -> dict:
    resp = admin.get("/api/admin/feedback", query_string=args, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def answered(rb: RunningBot, user: str) -> str:
    """Ask as `user`; the value of the helpful button of the answer that was posted."""
    _, key = ask(rb, QUESTION, user=user)
    answer = only_answer(rb, key)
    assert f"<{url(MINUTES_0331)}|[" in texts(answer)
    values = {e["value"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert len(values) == 1
    return values.pop()


def click(rb: RunningBot, action: str, value: str, user: str, delivery: Delivery | None = None) -> int:
    """A signed click; waits for its thanks when Slack accepted it. The HTTP status of the delivery."""
    key = uuid.uuid4().hex[:12]
    resp = (delivery or rb.delivery).post(action_body(action, value, slack_id(user), rb.slack.response_url(key)))
    if resp.status_code == 200:  # not only_answer: that waits for the answer pool, which clicks do not use
        posts = rb.slack.state.wait_for_responses(key, 1, 10)
        assert [p["text"] for p in posts] == [messages.FEEDBACK_THANKS]
    return resp.status_code


def test_clicks_are_stored_one_vote_per_user_and_answer_with_the_helpful_rate(offline: RunningBot, admin):
    value = answered(offline, "bob")
    assert click(offline, HELPFUL, value, "bob") == 200

    seen = report(admin)
    assert (seen["total"], seen["helpful"], seen["not_helpful"], seen["helpful_rate"]) == (1, 1, 0, 1.0)
    [vote] = seen["feedback"]
    assert vote["question"] == QUESTION and vote["vote"] == "helpful" and vote["surface"] == "slack"
    assert vote["user"] == slack_id("bob") and vote["asked_by"] == slack_id("bob")
    assert vote["channel"] == "C0GENERAL" and vote["asked_in"] == "C0GENERAL"
    assert vote["time"] and vote["asked_at"] and vote["status"] == "sources_only"
    assert url(MINUTES_0331) in [s["url"] for s in vote["sources"]]
    assert all({"n", "title", "url", "doc_id"} <= set(s) for s in vote["sources"])

    # bob changes his mind: his vote is replaced, not added
    assert click(offline, NOT_HELPFUL, value, "bob") == 200
    seen = report(admin)
    assert (seen["total"], seen["helpful"], seen["not_helpful"], seen["helpful_rate"]) == (1, 0, 1, 0.0)

    # carol votes on the same answer (a channel reply can be voted on by anyone who reads it): one more vote
    assert click(offline, HELPFUL, value, "carol") == 200
    seen = report(admin)
    assert (seen["total"], seen["helpful"], seen["not_helpful"], seen["helpful_rate"]) == (2, 1, 1, 0.5)
    assert [v["user"] for v in seen["feedback"]] == [slack_id("carol"), slack_id("bob")]  # newest first

    # a click Slack did not sign is refused before anything is stored
    forged = Delivery(offline.delivery.url, "not-the-secret")
    assert click(offline, HELPFUL, value, "dave", delivery=forged) == 401
    # a click on an answer Lore never gave is thanked (the user did nothing wrong) but not stored
    assert click(offline, HELPFUL, '{"answer": "0123abcd0123abcd"}', "dave") == 200
    assert click(offline, HELPFUL, '{"answer": "../../_doc"}', "dave") == 200
    assert report(admin)["total"] == 2

    # paging and the time window
    page = report(admin, size=1, **{"from": 1})
    assert [v["user"] for v in page["feedback"]] == [slack_id("bob")] and page["total"] == 2
    later = report(admin, since="2999-01-01T00:00:00Z")
    assert (later["total"], later["helpful_rate"], later["feedback"]) == (0, None, [])


def opened_views(rb: RunningBot, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(calls := rb.slack.state.calls_of("views.open")) < count:
        assert time.monotonic() < deadline, "no comment box was opened"
        time.sleep(0.05)
    return [json.loads(c.args["view"]) if isinstance(c.args["view"], str) else c.args["view"] for c in calls]


def submit(rb: RunningBot, view: dict, user: str, comment: str) -> int:
    values = {COMMENT_BLOCK: {COMMENT_INPUT: {"type": "plain_text_input", "value": comment}}}
    return rb.delivery.post(view_submission_body(view, slack_id(user), values)).status_code


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the feedback store never showed it"
        time.sleep(0.1)


def test_not_helpful_opens_a_comment_box_whose_text_joins_the_vote(offline: RunningBot, admin):
    value = answered(offline, "alice")
    before = len(offline.slack.state.calls_of("views.open"))
    assert click(offline, HELPFUL, value, "alice") == 200
    assert click(offline, NOT_HELPFUL, value, "alice") == 200  # only "not helpful" asks what was wrong
    view = opened_views(offline, before + 1)[-1]
    assert view["callback_id"] == COMMENT_VIEW and view["blocks"][0]["optional"] is True
    assert submit(offline, view, "alice", "  It cites 2016 minutes; the 2018 charter says otherwise.  ") == 200

    def alices() -> dict | None:
        return next((v for v in report(admin)["feedback"] if v["user"] == slack_id("alice")
                     and v.get("comment")), None)
    wait_for(alices)
    vote = alices()
    assert vote["vote"] == "not_helpful"
    assert vote["comment"] == "It cites 2016 minutes; the 2018 charter says otherwise."

    # a submission Slack did not sign, or naming an answer Lore never gave, stores nothing
    forged = Delivery(offline.delivery.url, "not-the-secret")
    assert forged.post(view_submission_body(view, slack_id("dave"), {})).status_code == 401
    fake = {**view, "private_metadata": json.dumps({"answer": "0123abcd0123abcd", "vote": "not_helpful"})}
    total = report(admin)["total"]
    assert submit(offline, fake, "dave", "made up") == 200
    time.sleep(1)
    assert report(admin)["total"] == total and not any(v.get("comment") == "made up" for v in report(admin)["feedback"])


@pytest.mark.parametrize("args, word", [({"size": "0"}, "size"), ({"size": "many"}, "size"),
                                        ({"from": "-1"}, "from"), ({"from": "9999", "size": "50"}, "from"),
                                        ({"since": "yesterday"}, "since")])
def test_bad_paging_arguments_get_400_naming_the_argument(admin, args, word):
    resp = admin.get("/api/admin/feedback", query_string=args, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 400
    assert f"'{word}'" in resp.get_json()["error"]["message"]


def test_feedback_needs_the_admin_token(admin):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert admin.get("/api/admin/feedback", headers=headers).status_code == 401


def test_a_feedback_store_that_is_down_costs_neither_the_answer_nor_the_thanks(corpus, es, embedder, directory,
                                                                               slack):
    s: Settings = corpus.settings
    down = FeedbackStore(Elasticsearch(closed_port_url(), request_timeout=2, max_retries=0), s.es)
    with start_bot(corpus, es, embedder, directory, slack, llm_url=closed_port_url()) as rb:
        rb.bot.services._built["feedback"] = down
        value = answered(rb, "bob")  # the answer still arrives, with its sources
        assert click(rb, HELPFUL, value, "bob") == 200  # and the click is still thanked


def test_a_click_is_stored_and_thanked_while_every_answer_worker_is_busy(corpus, es, embedder, directory, slack,
                                                                        admin):
    """Votes do not queue behind questions waiting for the model, nor get turned away with them."""
    with start_bot(corpus, es, embedder, directory, slack, llm_url=closed_port_url(), workers=1,
                   queue_size=0) as rb:
        value = answered(rb, "alice")
        before = report(admin)["total"]
        slack.state.rate_limit("users.info", count=1, retry_after=3)  # holds the one answer worker ~3 s
        resp, key = ask(rb, QUESTION, user="carol")
        assert resp.status_code == 200 and "Searching" in resp.json()["text"]
        assert settles(lambda: rb.pool.running == 1) and key not in slack.state.responses  # its worker has begun
        assert click(rb, HELPFUL, value, "alice") == 200  # thanked while the question is still being answered
        assert key not in slack.state.responses
        assert report(admin)["total"] == before + 1
        only_answer(rb, key)
