"""Answers on the real Elasticsearch and the real local LLM server (Qwen2.5 0.5B): what an asker notices."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.answers import ANSWERED, NOT_FOUND, SOURCES_ONLY, Answerer
from backend.answers.pipeline import UNAVAILABLE, WITHHELD
from backend.documents import PUBLIC
from backend.errors import BadRequest
from backend.eval.answers import run_answers
from backend.llm import LLMClient
from backend.prompts import NOT_FOUND as NOT_FOUND_TEXT
from backend.prompts import REDACTED
from tests.integration.answer_corpus import (
    BOARD,
    MINUTES_0331,
    PARKING_TEXT,
    POISONED,
    POISONED_TITLE,
    SECRET_PAGE,
    Corpus,
    answer_model_url,
    closed_port_url,
    indexed,
    require_llm,
    secret_passages,
    small_llm,
)


@pytest.fixture(scope="module")
def corpus(es, settings, embedder, shared_data) -> Iterator[Corpus]:
    with indexed(es, settings, embedder, shared_data) as c:
        yield c


@pytest.fixture(scope="module")
def answerer(corpus: Corpus) -> Answerer:
    s = small_llm(corpus.settings)
    return Answerer(s, corpus.searcher, require_llm(s))


@pytest.fixture(scope="module")
def answer_model(corpus: Corpus) -> Answerer:
    """The default answer model (the 1.5B): what an answer *says* is checked on the model Lore ships with."""
    s = small_llm(corpus.settings, url=answer_model_url(corpus.settings))
    return Answerer(s, corpus.searcher, require_llm(s))


@pytest.fixture(scope="module")
def offline(corpus: Corpus) -> Answerer:
    """The same pipeline with the LLM server down (connection refused, one quick retry)."""
    s = replace(corpus.settings, llm=replace(corpus.settings.llm, url=closed_port_url(), retries=1))
    return Answerer(s, corpus.searcher, LLMClient(s.llm))


def prompt_text(answer) -> str:
    return "\n".join(m["content"] for m in answer.prompt_messages)


def test_a_question_about_a_page_is_answered_citing_that_page(answer_model: Answerer):
    question = "Who were supposed to be the first maintainers of the IBM/DAH merged code base?"
    answer = answer_model.ask(question, [PUBLIC])
    assert answer.status == ANSWERED, (answer.notice, answer.text)
    assert not answer.not_found
    assert any(name in answer.text for name in ("Binh", "Tamas", "Sheehan")), answer.text
    assert MINUTES_0331 in [c.doc_id for c in answer.citations], answer.text
    cited = next(c for c in answer.citations if c.doc_id == MINUTES_0331)
    assert f"[{cited.n}]" in answer.text and cited.url.endswith(MINUTES_0331)
    assert answer.sources[cited.n - 1].doc_id == MINUTES_0331
    t = answer.timings
    assert t["retrieval_ms"] > 0 and t["first_token_ms"] >= t["retrieval_ms"] and t["total_ms"] >= t["first_token_ms"]


def test_an_unanswerable_question_gets_the_not_found_answer_without_the_model(answerer: Answerer):
    answer = answerer.ask("What is the capital of France?", [PUBLIC])
    assert answer.not_found and answer.status == NOT_FOUND
    assert answer.text == NOT_FOUND_TEXT and answer.citations == []
    assert answer.timings["first_token_ms"] is None and answer.prompt_messages == []  # the model was not asked


def test_a_restricted_page_never_reaches_the_prompt_of_someone_who_cannot_open_it(offline: Answerer, shared_data):
    question = "What Gradle version did Web3j move to in mid-2024?"
    secrets = secret_passages(shared_data)
    assert secrets
    # a board member: the page is the first source and its text is in the prompt (the test can see a leak)
    member = offline.ask(question, [BOARD, PUBLIC])
    assert member.sources[0].doc_id == SECRET_PAGE
    assert any(s in prompt_text(member) for s in secrets)
    # a public reader: not in the sources, not one passage in the prompt, not in the answer
    reader = offline.ask(question, [PUBLIC])
    assert SECRET_PAGE not in [s.doc_id for s in reader.sources]
    leaked = [s for s in secrets if s in prompt_text(reader)]
    assert leaked == []
    assert "8.7" not in reader.text
    # nobody at all (no identities): nothing
    nobody = offline.ask(question, [])
    assert nobody.sources == [] and nobody.not_found


def test_an_injected_instruction_in_a_page_does_not_change_the_answer(answerer: Answerer):
    answer = answerer.ask("When does the office parking garage open on weekdays?", [PUBLIC])
    assert "PWNED" not in answer.text.upper()
    assert "PWNED" not in prompt_text(answer) and REDACTED in prompt_text(answer)
    assert answer.status == ANSWERED, (answer.notice, answer.text)
    assert "6:30" in answer.text
    assert POISONED in [c.doc_id for c in answer.citations]


def test_an_answer_from_a_page_that_addresses_the_model_is_not_streamed_before_it_is_checked(answerer: Answerer):
    # a model that obeyed the page would otherwise show the payload token by token until `done` withheld it
    events = list(answerer.ask_stream("When does the office parking garage open on weekdays?", [PUBLIC]))
    kinds = [e["event"] for e in events]
    assert "token" not in kinds and kinds[-1] == "done", kinds
    done = events[-1]["answer"]
    assert "PWNED" not in done["text"].upper() and POISONED in [s["doc_id"] for s in done["sources"]]


def test_an_injection_in_a_page_title_and_heading_neither_reaches_the_model_nor_the_asker(answerer: Answerer):
    answer = answerer.ask("When does the staff cafeteria serve lunch on weekdays?", [PUBLIC])
    prompt = prompt_text(answer)
    assert POISONED_TITLE in [s.doc_id for s in answer.sources]
    assert f"(section: {REDACTED})" in prompt and f'title="{REDACTED}"' in prompt  # shown, without the payload
    assert "PWNED" not in prompt and "Ignore all previous" not in prompt and "<system>" not in prompt
    assert prompt.count("</source>") == len(answer.sources)  # only our own fences close
    assert "PWNED" not in answer.text.upper()
    # the answer, or, had the model obeyed anyway, the post-check withholding it: never the payload
    assert (answer.status == ANSWERED and "11:45" in answer.text) or answer.notice == WITHHELD, \
        (answer.status, answer.notice, answer.text)


def test_an_empty_question_is_refused_with_a_helpful_message(offline: Answerer):
    for q in ("", "   \n\t "):
        with pytest.raises(BadRequest, match="question is empty"):
            offline.ask(q, [PUBLIC])


def test_a_10000_character_question_is_cut_with_a_notice_and_still_finds_the_page(offline: Answerer):
    asked = "Who were supposed to be the first maintainers of the IBM/DAH merged code base? "
    question = asked + ("please answer " * 1000)[: 10_000 - len(asked)]
    assert len(question) == 10_000
    answer = offline.ask(question, [PUBLIC])
    assert "10,000 characters" in answer.notice and "only its first" in answer.notice  # how long, what was used
    assert MINUTES_0331 in [s.doc_id for s in answer.sources]
    assert len(answer.query) <= 2000
    assert len(answer.prompt_messages[-1]["content"]) < 12_000  # the prompt holds the cut question only


def test_llm_server_down_gives_sources_with_a_notice_not_an_error(offline: Answerer):
    answer = offline.ask("Who were supposed to be the first maintainers of the IBM/DAH merged code base?", [PUBLIC])
    assert answer.status == SOURCES_ONLY and answer.notice == UNAVAILABLE
    assert answer.text == "" and answer.citations == []
    # among the first two: with English stemming the 04-21 minutes (more forms of "maintain" and "merge") rank a
    # hair above the page that answers on some runs (bench/retrieval-quality.md has the gain over 384 questions)
    top = {s.doc_id: s for s in answer.sources[:2]}
    assert MINUTES_0331 in top and top[MINUTES_0331].snippet
    events = list(offline.ask_stream("Who were the first maintainers of the IBM/DAH code base?", [PUBLIC]))
    assert [e["event"] for e in events] == ["sources", "done"]
    assert events[-1]["answer"]["notice"] == UNAVAILABLE


def test_a_follow_up_finds_the_page_of_the_earlier_question_even_without_the_model(offline: Answerer):
    history = [
        {"role": "user", "content": "What did the TSC discuss about the IBM/DAH merged code base in March 2016?"},
        {"role": "assistant", "content": "They proposed it for incubation [1]."},
    ]
    answer = offline.ask("Who would be its initial maintainers?", [PUBLIC], history)
    assert "IBM/DAH" in answer.query  # the rewrite failed over to the last question plus this one
    assert answer.sources and answer.sources[0].doc_id == MINUTES_0331


def test_a_follow_up_is_rewritten_by_the_model_into_a_query_that_finds_the_page(answerer: Answerer):
    history = [
        {"role": "user", "content": "What did the TSC discuss about the IBM/DAH merged code base in March 2016?"},
        {"role": "assistant", "content": "They proposed it for incubation [1]."},
    ]
    answer = answerer.ask("Who would be its initial maintainers?", [PUBLIC], history)
    assert "maintainers" in answer.query and answer.query != "Who would be its initial maintainers?"
    assert MINUTES_0331 in [s.doc_id for s in answer.sources[:2]]  # see the stemming note above
    assert answer.status in (ANSWERED, NOT_FOUND), answer.notice


def test_answer_evaluation_runs_on_any_corpus_and_reports_every_metric(corpus: Corpus, tmp_path, capsys):
    page = next(d for d in corpus.docs if d.id == MINUTES_0331)
    corpus_file = tmp_path / "corpus.jsonl"
    corpus_file.write_text("\n".join(json.dumps(r) for r in [
        {"doc_id": "parking", "title": "Parking garage", "text": PARKING_TEXT},
        {"doc_id": "minutes", "title": page.title, "text": page.text, "url": "https://wiki.example/m"},
    ]) + "\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in [
        {"qid": "q1", "question": "When does the parking garage open on weekdays?", "answer": "6:30am",
         "gold_doc_ids": ["parking"]},
        {"qid": "q2", "question": "What is the capital of France?", "answer": "NOT_IN_CORPUS", "gold_doc_ids": []},
        {"qid": "q3", "question": "not asked: --limit 2", "answer": "x", "gold_doc_ids": ["minutes"]},
    ]) + "\n")
    args = argparse.Namespace(corpus=str(corpus_file), questions=str(questions), json_out=None, limit=2)
    report = run_answers(args, small_llm(corpus.settings))
    a = report["answers"]
    assert report["questions"] == 2 and [r["qid"] for r in report["rows"]] == ["q1", "q2"]
    assert report["retrieval"]["recall@1"] == 1.0
    assert a["not_found_accuracy"] == 1.0 and a["false_not_found_rate"] == 0.0
    assert a["contains_gold"] == 1.0 and a["citation_precision"] == 1.0
    assert a["latency_ms"]["total"]["n"] == 2
    out = capsys.readouterr().out
    assert "citation precision" in out and "not-found accuracy" in out and "R@10" in out
