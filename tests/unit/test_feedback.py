"""The feedback list's query arguments and the buttons' answer ids: what an admin or a click may send."""

from __future__ import annotations

import pytest

from backend.errors import BadRequest
from backend.feedback import DEFAULT_PAGE, FeedbackQuery
from bot.feedback import answer_id_of, button_value


def test_defaults_and_a_naive_since_is_read_as_utc() -> None:
    assert FeedbackQuery.parse({}) == FeedbackQuery(DEFAULT_PAGE, 0, None)
    q = FeedbackQuery.parse({"size": "5", "from": "10", "since": "2026-11-01T08:00:00"})
    assert (q.size, q.offset, q.since) == (5, 10, "2026-11-01T08:00:00+00:00")
    assert FeedbackQuery.parse({"since": "2026-11-01T08:00:00Z"}).since == "2026-11-01T08:00:00+00:00"
    assert FeedbackQuery.parse({"since": "2026-11-01T10:00:00+02:00"}).since == "2026-11-01T10:00:00+02:00"


@pytest.mark.parametrize("args, word", [({"size": "101"}, "size"), ({"size": "1.5"}, "size"),
                                        ({"from": "x"}, "from"), ({"from": "9990", "size": "20"}, "from"),
                                        ({"since": "2026-13-01"}, "since")])
def test_out_of_range_arguments_are_refused_naming_the_argument(args: dict, word: str) -> None:
    with pytest.raises(BadRequest, match=f"'{word}'"):
        FeedbackQuery.parse(args)


def test_a_button_names_its_answer_and_anything_else_names_none() -> None:
    assert answer_id_of(button_value("0123abcd0123abcd")) == "0123abcd0123abcd"
    for value in (None, "", "not json", "[1]", '{"answer": 7}', '"x"'):
        assert answer_id_of(value) is None
