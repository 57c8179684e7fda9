"""'Not found' when the asker's pages lack what the question names: real Elasticsearch, the model never asked.

The answerer here has its LLM server down: an answer that comes back NOT_FOUND (rather than sources-only with
"unavailable") was decided before the model would have been called.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.answers import NOT_FOUND, SOURCES_ONLY, Answerer
from backend.answers.pipeline import UNAVAILABLE
from backend.documents import PUBLIC
from backend.llm import LLMClient
from tests.integration.answer_corpus import BOARD, SECRET_PAGE, Corpus, closed_port_url, indexed


@pytest.fixture(scope="module")
def corpus(es, settings, embedder, shared_data) -> Iterator[Corpus]:
    with indexed(es, settings, embedder, shared_data) as c:
        yield c


def offline(corpus: Corpus, **answer) -> Answerer:
    s = replace(corpus.settings, llm=replace(corpus.settings.llm, url=closed_port_url(), retries=1),
                answer=replace(corpus.settings.answer, **answer))
    return Answerer(s, corpus.searcher, LLMClient(s.llm))


@pytest.fixture(scope="module")
def checking(corpus: Corpus) -> Answerer:
    """The word check on this 9-page corpus (by default it waits for ~100 pages)."""
    return offline(corpus, evidence_min_chunks=1)


# relevant public pages (the 2016-03-31 minutes), and a word only the board's Web3j report holds
QUESTION = "Who were the first maintainers of the IBM/DAH merged code base, and did they build it with Gradle?"


def test_a_word_no_page_of_the_asker_holds_is_named_and_the_model_is_not_asked(checking: Answerer):
    question = QUESTION
    reader = checking.ask(question, [PUBLIC])
    assert reader.status == NOT_FOUND and reader.not_found
    assert "\u201cGradle\u201d" in reader.notice and "pages you can access" in reader.notice
    assert reader.prompt_messages == [] and reader.timings["first_token_ms"] is None
    assert SECRET_PAGE not in [s.doc_id for s in reader.sources]
    # the board may open the Web3j report: for them the question goes on to the model (down here)
    member = checking.ask(question, [BOARD, PUBLIC])
    assert member.status == SOURCES_ONLY and member.notice == UNAVAILABLE
    assert SECRET_PAGE in [s.doc_id for s in member.sources]


def test_a_misspelt_word_is_not_taken_for_a_missing_fact(checking: Answerer):
    answer = checking.ask("Who were the first maintianers of the IBM/DAH merged code base?", [PUBLIC])
    assert answer.status == SOURCES_ONLY and answer.notice == UNAVAILABLE


def test_a_year_none_of_the_retrieved_pages_mention_is_named(checking: Answerer):
    answer = checking.ask("Who were the first maintainers of the IBM/DAH merged code base in 1999?", [PUBLIC])
    assert answer.status == NOT_FOUND and "\u201c1999\u201d" in answer.notice
    same = checking.ask("Who were the first maintainers of the IBM/DAH merged code base in 2016?", [PUBLIC])
    assert same.status == SOURCES_ONLY


def test_on_a_few_pages_absence_means_nothing_and_the_model_decides(corpus: Corpus):
    answer = offline(corpus).ask(QUESTION, [PUBLIC])
    assert answer.status == SOURCES_ONLY and answer.notice == UNAVAILABLE


def test_the_checks_can_be_turned_off(corpus: Corpus):
    answer = offline(corpus, evidence_min_chunks=1, check_evidence=False).ask(QUESTION, [PUBLIC])
    assert answer.status == SOURCES_ONLY
