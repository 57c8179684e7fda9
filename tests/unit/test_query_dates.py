"""The dates a question names, as page titles write them (backend/query_dates.py)."""

from __future__ import annotations

import pytest

from backend.query_dates import DateHints, date_hints


@pytest.mark.parametrize("question, phrases, years", [
    ("Who ran for TSC chair back in February 2016?", ("2016 02",), ("2016",)),
    ("What was decided on the Feb 18, 2016 call?", ("2016 02",), ("2016",)),
    ("Which lab was on the agenda of the 25 January 2024 TOC meeting?", ("2024 01",), ("2024",)),
    ("What did the 2016-02-18 minutes say?", ("2016 02",), ("2016",)),
    ("Anything from Sept. 2023?", ("2023 09",), ("2023",)),
    ("How was Burrow's maintainer group split in Q1 2020?", ("2020 q1",), ("2020",)),
    ("Why so many releases in the 2019 Q3 report, or in Q4 of 2019?", ("2019 q3", "2019 q4"), ("2019",)),
    ("Who could vote in the 2023-2024 TOC election?", (), ("2023", "2024")),
    ("Was Cello folded into Explorer at the end of 2016?", (), ("2016",)),
])
def test_months_quarters_and_years_become_title_phrases(question, phrases, years):
    assert date_hints(question) == DateHints(phrases, years)


@pytest.mark.parametrize("question", [
    "How do I lose my merge rights?",
    "Does version 2.0 run on 3000 nodes, or 12345?",  # numbers that are not years
    "It may rain; march on.",  # month words without a year
    "Call ext. 1800 or 2100",  # outside 1900-2099
])
def test_a_question_without_a_date_gets_no_hints(question):
    assert not date_hints(question)
