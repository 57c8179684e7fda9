"""The answer-evaluation metrics: what counts as containing the gold answer, and how the table is summed."""

from __future__ import annotations

from backend.eval.answers import contains_gold, normalise, spread_sample, summarise, token_f1, token_recall


def test_normalise_drops_case_punctuation_and_articles():
    assert normalise("The  Gradle-8.7 upgrade, an update!") == "gradle 8 7 upgrade update"


def test_short_gold_answers_must_appear_verbatim_after_normalising():
    assert contains_gold("They moved to Gradle 8.7 [1].", "Gradle 8.7.") == (True, "substring")
    assert contains_gold("They moved to Gradle 8.75.", "Gradle 8.7") == (False, "")  # no partial numbers
    assert contains_gold("Roughly 65 people attended.", "Roughly 65 attendees.") == (False, "")  # strict by design


def test_long_gold_answers_count_when_token_f1_reaches_one_half():
    gold = "The Atala Discord went from 258 to 476 members between January and Q3 2024."
    assert contains_gold("The Atala Discord went from 258 to 476 members in 2024 [1].", gold) == (True, "f1")
    assert contains_gold("It grew a lot.", gold) == (False, "")
    assert token_f1("a b c", "a b c") == 1.0 and token_f1("", "x") == 0.0
    assert token_recall("gradle", "gradle 8 7") == 1 / 3


def test_summary_counts_not_found_citations_and_latency():
    base = {"contains_gold": False, "match": "", "f1": 0.0, "gold_recall": 0.0, "citations": [], "cited_gold": 0,
            "inferred_citations": 0, "gold_in_sources": True, "status": "answered", "not_found": False,
            "retrieval_ms": 10.0, "first_token_ms": 100.0, "total_ms": 200.0}
    rows = [
        {**base, "answerable": True, "contains_gold": True, "match": "substring", "citations": ["a", "b"],
         "cited_gold": 1, "f1": 0.8},
        {**base, "answerable": True, "not_found": True, "status": "not_found", "first_token_ms": None},
        {**base, "answerable": False, "not_found": True, "status": "not_found"},
        {**base, "answerable": False, "status": "sources_only"},
    ]
    s = summarise(rows)
    assert s["contains_gold"] == 0.5 and s["contains_gold_by"] == {"substring": 1}
    assert s["citation_precision"] == 0.5 and s["answers_with_citation"] == 0.5
    assert s["not_found_accuracy"] == 0.5 and s["false_not_found_rate"] == 0.5
    assert s["sources_only_rate"] == 0.25
    assert s["latency_ms"]["first_token"]["n"] == 3 and s["latency_ms"]["total"]["p50"] == 200.0


def test_sample_spreads_over_the_whole_file_and_is_repeatable():
    # QMSum lists its questions meeting by meeting: the first N would cover only a few meetings.
    questions = [f"meeting{m}-q{q}" for m in range(10) for q in range(6)]
    picked = spread_sample(questions, 10)
    assert picked == spread_sample(questions, 10)
    assert len(picked) == len(set(picked)) == 10
    assert {p.split("-")[0] for p in picked} == {f"meeting{m}" for m in range(10)}
    assert spread_sample(questions, 0) == questions and spread_sample(questions, 99) == questions
