"""The Ask Lore macro's flow end to end: a signed Forge call asks, the macro polls the job, the answer comes from
the pages the principal may read. Real Elasticsearch, Redis and LLM server; the Confluence stand-in as the
directory (accountId -> groups); a local JWKS server in place of Atlassian's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from backend.answers.pipeline import UNAVAILABLE
from backend.confluence.client import ConfluenceClient
from backend.identity import IdentityResolver
from backend.llm import LLMClient
from tests.integration.answer_corpus import (
    MINUTES_0331,
    SECRET_PAGE,
    Corpus,
    answer_model_url,
    closed_port_url,
    indexed,
    require_llm,
    secret_passages,
    small_llm,
    url,
)
from tests.integration.forge_keys import APP_ID, Jwks, fit, new_key, serve_jwks
from tests.integration.macro_app import running_api

QUESTION = "Who were supposed to be the first maintainers of the IBM/DAH merged code base?"
GRADLE = "What Gradle version did Web3j move to in mid-2024?"  # answered by the board-only page
BOB, ALICE = "712020:bob", "712020:alice"  # both in confluence-users; only alice sits on the board


@pytest.fixture(scope="module")
def corpus(es, settings, embedder, shared_data) -> Iterator[Corpus]:
    with indexed(es, settings, embedder, shared_data) as c:
        yield c


@pytest.fixture(scope="module")
def jwks():
    with serve_jwks(Jwks({"k1": new_key()})) as j:
        yield j


def macro_settings(corpus: Corpus, jwks: Jwks, *, llm_url: str | None = None, **macro):
    s = small_llm(corpus.settings)
    if llm_url:
        s = replace(s, llm=replace(s.llm, url=llm_url, retries=0))
    return replace(s, macro=replace(s.macro, forge_app_id=APP_ID, forge_jwks_url=jwks.url, **macro))


def services(s, es, embedder, corpus, directory) -> dict:
    return {"es": es, "embedder": embedder, "searcher": corpus.searcher, "llm": LLMClient(s.llm),
            "identity": IdentityResolver(ConfluenceClient(directory.settings()), 600)}


@pytest.fixture(scope="module")
def offline(corpus, jwks, es, embedder, directory) -> Iterator[str]:
    """The API with the LLM server down: answers are the best sources with a notice, in about a second."""
    s = macro_settings(corpus, jwks, llm_url=closed_port_url(), asks_per_minute=100)
    with running_api(s, services(s, es, embedder, corpus, directory)) as api:
        yield api


class Macro:
    """What the front end does: invokeRemote with the FIT Forge adds, then poll until the job is finished."""

    def __init__(self, api: str, jwks: Jwks, account: str | None):
        self.api, self.jwks, self.account = api, jwks, account

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        token = fit(self.jwks.keys["k1"], account=self.account)
        return requests.request(method, self.api + path, json=body, headers={"Authorization": f"Bearer {token}"},
                                timeout=20)

    def ask(self, question: str, **body) -> str:
        resp = self.call("POST", "/api/forge/ask", {"question": question, **body})
        assert resp.status_code == 202, resp.text
        assert resp.elapsed.total_seconds() < 5  # far inside Forge's 25 s, whatever the model does
        return resp.json()["id"]

    def wait(self, job_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.call("GET", f"/api/forge/jobs/{job_id}").json()
            if job["state"] in ("done", "failed"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout} s"
            time.sleep(job.get("poll_after_ms", 500) / 1000)


def source_urls(job: dict) -> list[str]:
    return [s["url"] for s in job["answer"]["sources"]]


def test_each_principal_gets_only_the_pages_they_may_open(offline, jwks, shared_data):
    bob, alice = Macro(offline, jwks, BOB), Macro(offline, jwks, ALICE)
    bobs, alices = bob.wait(bob.ask(GRADLE)), alice.wait(alice.ask(GRADLE))
    assert bobs["state"] == alices["state"] == "done"
    assert url(SECRET_PAGE) in source_urls(alices)
    assert url(SECRET_PAGE) not in source_urls(bobs)
    shown = str(bobs)
    assert not [p for p in secret_passages(shared_data) if p in shown]  # not a word of it, not even in snippets
    anonymous = Macro(offline, jwks, None)  # a viewer of a public page who is not logged in: no principal
    assert url(SECRET_PAGE) not in source_urls(anonymous.wait(anonymous.ask(GRADLE)))
    # the model is down: alice's macro shows her sources with the notice
    assert alices["answer"]["status"] == "sources_only" and alices["answer"]["notice"] == UNAVAILABLE


def test_a_job_is_readable_and_votable_only_by_its_asker(offline, jwks, es, corpus):
    bob, alice = Macro(offline, jwks, BOB), Macro(offline, jwks, ALICE)
    job_id = bob.ask(QUESTION)
    assert bob.wait(job_id)["state"] == "done"
    stolen = alice.call("GET", f"/api/forge/jobs/{job_id}")
    assert stolen.status_code == 404 and "sources" not in stolen.text and "IBM" not in stolen.text
    assert alice.call("POST", "/api/forge/feedback", {"job_id": job_id, "vote": "not_helpful"}).status_code == 404

    assert bob.call("POST", "/api/forge/feedback", {"job_id": job_id, "vote": "helpful"}).json() == {"recorded": True}
    votes = es.search(index=corpus.settings.es.feedback_index, query={"term": {"kind": "vote"}})["hits"]["hits"]
    assert [(v["_source"]["answer_id"], v["_source"]["user"], v["_source"]["vote"]) for v in votes] == \
        [(job_id, BOB, "helpful")]


def test_the_default_space_filter_keeps_answers_to_that_space(offline, jwks):
    alice = Macro(offline, jwks, ALICE)
    job = alice.wait(alice.ask(GRADLE, space="NOSUCHSPACE"))  # the test corpus has no pages in that space
    assert job["answer"]["sources"] == [] and job["answer"]["status"] == "not_found"
    assert alice.call("POST", "/api/forge/ask", {"question": GRADLE, "space": [1, 2]}).status_code == 400


def test_an_empty_question_is_refused_at_once_and_a_flood_is_rate_limited(corpus, jwks, es, embedder, directory):
    s = macro_settings(corpus, jwks, llm_url=closed_port_url(), asks_per_minute=2)
    with running_api(s, services(s, es, embedder, corpus, directory)) as api:
        carol = Macro(api, jwks, "712020:carol")
        assert carol.call("POST", "/api/forge/ask", {"question": "   "}).status_code == 400
        codes = [carol.call("POST", "/api/forge/ask", {"question": QUESTION}).status_code for _ in range(3)]
        other = Macro(api, jwks, "712020:dave").call("POST", "/api/forge/ask", {"question": QUESTION})
    assert codes == [202, 202, 429]
    assert other.status_code == 202  # the limit is per asker


def test_a_real_answer_is_written_by_the_model_and_cites_its_page(corpus, jwks, es, embedder, directory):
    s = macro_settings(corpus, jwks, llm_url=answer_model_url(corpus.settings))
    require_llm(s)
    with running_api(s, services(s, es, embedder, corpus, directory)) as api:
        bob = Macro(api, jwks, BOB)
        job = bob.wait(bob.ask(QUESTION), timeout=s.llm.timeout + 30)
    answer = job["answer"]
    assert answer["status"] == "answered", answer
    assert any(name in answer["text"] for name in ("Binh", "Tamas", "Sheehan")), answer["text"]
    assert url(MINUTES_0331) in [c["url"] for c in answer["citations"]]
