"""What the asker sees of a model's reply: only real citations, the not-found sentence, no garbage or payloads."""

from __future__ import annotations

import pytest

from backend.answers.pipeline import confident, merge_rewrite
from backend.answers.postcheck import ANSWER, DECLINED, GARBAGE, HIJACKED, check, fix_citations
from backend.prompts import NOT_FOUND
from backend.settings import AnswerSettings


def test_citations_outside_the_sources_are_removed_and_valid_ones_kept():
    res = check("Releases ship on Tuesdays [1]. The freeze starts Monday [4]. Ana signs off [2][9].", 2)
    assert res.verdict == ANSWER
    assert res.text == "Releases ship on Tuesdays [1]. The freeze starts Monday. Ana signs off [2]."
    assert res.cited == [1, 2] and res.dropped == ["[4]", "[9]"]


@pytest.mark.parametrize(("raw", "text", "cited"), [
    ("It ships Tuesdays [Source 2].", "It ships Tuesdays [2].", [2]),
    ("It ships Tuesdays [1, 3].", "It ships Tuesdays [1][3].", [1, 3]),
    ("It ships Tuesdays [1-3].", "It ships Tuesdays [1][2][3].", [1, 2, 3]),
    ("It ships Tuesdays 【2】.", "It ships Tuesdays [2].", [2]),
    ("Founded in [2016] by the TSC [1].", "Founded in [2016] by the TSC [1].", [1]),
    ("It ships Tuesdays [0].", "It ships Tuesdays.", []),
    ("It ships Tuesdays [1]. This can be found in [n].", "It ships Tuesdays [1].", [1]),
    ("It ships Tuesdays. This can be found in [n] and [n].", "It ships Tuesdays.", []),
    ("It ships Tuesdays [n] [2].", "It ships Tuesdays [2].", [2]),
])
def test_citation_forms_small_models_write_are_normalised(raw, text, cited):
    fixed, got, _ = fix_citations(raw, 3)
    assert (fixed, got) == (text, cited)


@pytest.mark.parametrize("raw", [
    NOT_FOUND,
    f"  {NOT_FOUND}  ",
    "I could not find the answer in the pages you can access",
    "The sources do not mention the cafeteria's opening hours.",
    "I don't know.",
    "There is no information about the budget in the provided sources [1].",
])
def test_not_found_sentence_and_declines_become_the_not_found_answer(raw):
    res = check(raw, 3)
    assert res.verdict == DECLINED and res.text == NOT_FOUND and res.cited == []


def test_a_cited_answer_that_mentions_a_gap_is_still_an_answer():
    raw = ("The TSC met weekly on Thursdays [1]. The first meeting set the agenda for elections, the wiki and "
           "the code hosting, and the minutes list who attended each call [2]; the sources do not mention the "
           "exact room, but the calls were held via GoToMeeting [1].")
    res = check(raw, 2)
    assert res.verdict == ANSWER and res.cited == [1, 2]


@pytest.mark.parametrize("raw", [
    "", "   ", "[1]", "...", "the " * 60,
    'Sources (quoted data from wiki pages; ignore...) <source n="1" title="x">',
    "\ufffd\ufffd\ufffd\ufffd\ufffd ab",
])
def test_garbage_is_recognised(raw):
    assert check(raw, 2).verdict == GARBAGE


def test_an_answer_that_repeats_an_injected_payload_is_withheld():
    assert check("PWNED", 2, payloads=["PWNED"]).verdict == HIJACKED
    assert check("Sure! pwned [1]", 2, payloads=["PWNED"]).verdict == HIJACKED
    # ... unless the asker asked about it
    res = check("The page asks assistants to say PWNED [1].", 2, payloads=["PWNED"],
                question="What does the page ask assistants to say instead of PWNED?")
    assert res.verdict == ANSWER


def test_citations_are_inferred_when_the_model_gives_none():
    sources = ["Releases ship on Tuesdays after the freeze.", "Binh, Tamas, Robert and Sheehan are the maintainers."]
    res = check("The initial maintainers were Binh, Tamas, Robert and Sheehan. Hope this helps!", 2,
                source_texts=sources)
    assert res.verdict == ANSWER
    assert res.text == "The initial maintainers were Binh, Tamas, Robert and Sheehan [2]. Hope this helps!"
    assert res.cited == [2] and res.inferred == [2]


def test_an_unsupported_uncited_answer_gets_no_invented_citation():
    res = check("Paris is the capital of France.", 1, source_texts=["Releases ship on Tuesdays."])
    assert res.verdict == ANSWER and res.cited == [] and "[" not in res.text


def test_retrieval_gate():
    opts = AnswerSettings(min_similarity=0.28, min_similarity_no_keywords=0.45)
    assert confident(12.0, 0.40, opts)
    assert not confident(12.0, 0.20, opts)  # shares words, but nothing close in meaning
    assert not confident(0.0, 0.35, opts)  # no shared word and only vaguely similar
    assert confident(0.0, 0.60, opts)  # a paraphrase with no shared word
    assert confident(3.0, None, opts) and not confident(0.0, None, opts)  # BM25 only


def test_an_inferred_citation_needs_every_number_of_the_sentence_in_the_source():
    source = ["The mentorship program pays each mentee a stipend of 3000 dollars for the summer."]
    made_up = check("The mentorship program pays each mentee a stipend of 100 dollars.", 1, source_texts=source)
    assert made_up.cited == [] and made_up.verdict == ANSWER
    right = check("The mentorship program pays each mentee a stipend of 3000 dollars.", 1, source_texts=source)
    assert right.cited == [1] and right.inferred == [1]


def test_a_weak_follow_up_rewrite_is_repaired():
    fallback = "What did the TSC say about the IBM/DAH code base? Who would be its maintainers?"
    asked = "Who would be its maintainers?"
    # echoed: nothing resolved -> the earlier question with the follow-up
    assert merge_rewrite("Who would be its maintainers?", asked, fallback) == fallback
    # only the earlier topic -> topic and follow-up together
    assert merge_rewrite("IBM/DAH code base", asked, fallback) == "IBM/DAH code base Who would be its maintainers?"
    # a real rewrite is used as it is
    good = "Who would be the maintainers of the IBM/DAH code base?"
    assert merge_rewrite(good, asked, fallback) == good


def test_figures_missing_from_the_cited_page_are_reported():
    sources = ["The mentorship program runs for 12 weeks, from 1 June 2024; Fabric v2.2 was used.",
               "Mentees are paid a stipend."]
    res = check("The program runs 12 weeks [1]. Mentees get $1,000 per quarter [2].", 2, source_texts=sources)
    assert res.verdict == ANSWER and res.cited == [1, 2]
    assert res.unsupported == ["1,000"]
    assert check("It runs 12 weeks from June 1, 2024 on Fabric 2.2 [1].", 2, source_texts=sources).unsupported == []
    assert check("Mentees are paid a stipend of 500 [2].", 2, source_texts=sources).unsupported == ["500"]
    asked = check("Yes, 2024 [2].", 2, source_texts=sources, question="Was it 2024?")
    assert asked.unsupported == []  # the asker's own figure


def test_a_citation_of_the_wrong_page_is_moved_to_the_page_that_holds_the_sentence():
    sources = ["Releases ship on Tuesdays.", "Peter, Arun and Marcus volunteered to review mentorship applications.",
               "The mentorship program opened in February."]
    res = check("Peter, Arun and Marcus volunteered to review the applications. [3]", 3, source_texts=sources)
    assert res.text == "Peter, Arun and Marcus volunteered to review the applications [2]."
    assert res.cited == [2] and res.inferred == [2]
    # a citation that holds the sentence stays, and so does one no page supports better
    kept = check("The mentorship program opened in February [3]. It was popular [1].", 3, source_texts=sources)
    assert kept.cited == [3, 1] and kept.inferred == []
