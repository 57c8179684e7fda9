"""The focused context: the model reads the lines that answer, not three passages of five pages."""

from __future__ import annotations

from backend.answers.context import assemble
from backend.answers.focus import assemble_focused, question_stems
from backend.prompts import answer_messages
from backend.search import Hit

FILLER = "\n".join(f"- Item {i}: the working group reviewed the agenda and the notes of meeting {i}."
                   for i in range(40))
MINUTES = (
    "**TSC Chair Elections**\n\n"
    "- Nominations for TSC Chair attached\n"
    "  - Chris Ferris, IBM\n"
    "  - Emmanuel Viale, Accenture\n"
    "- Voting period ends: Tuesday, Feb 23rd at 9pm Pacific Time\n"
    f"{FILLER}\n"
)
REPORT = (
    "We still have four maintainers. They are:\n"
    "Shingo Fujimoto - Fujitsu\n"
    "Jonathan Hamilton - Accenture\n"
    "Peter Somogyvari - Accenture\n"
    "Takuma Takeuchi - Fujitsu\n"
    f"{FILLER}\n"
)


def hit(doc: str, n: int, text: str, title: str = "", heading: list[str] | None = None) -> Hit:
    return Hit(f"{doc}#{n}", doc, title or doc, f"https://wiki.example/{doc}", text, text[:80], heading or [], 1.0)


def prompt_of(ctx, question: str) -> str:
    return answer_messages(question, ctx.prompt_sources).messages[-1]["content"]


def test_the_context_keeps_the_lines_with_the_question_terms_and_drops_the_rest():
    hits = [hit("other", 0, FILLER, "Working group notes"),
            hit("minutes", 0, MINUTES, "2016-02-18 TSC minutes"),
            hit("report", 0, REPORT, "Cactus report")]
    question = "Who was nominated for TSC chair?"
    focused = assemble_focused(hits, question, 1200, 5)
    whole = assemble(hits, 4000, 5, 3)
    text = prompt_of(focused, question)
    # the same pages, numbered the same way: citations mean the same thing in both modes
    assert [s.doc_id for s in focused.sources] == [s.doc_id for s in whole.sources] == ["other", "minutes", "report"]
    # the nominees sit indented under the line that names the question's terms: they come with it
    assert "Nominations for TSC Chair attached" in text
    assert "Chris Ferris, IBM" in text and "Emmanuel Viale, Accenture" in text
    # the second page's filler did not come along: the context is a fraction of whole passages
    assert "Item 39" not in text.split('title="2016-02-18 TSC minutes"')[1]
    assert focused.tokens < whole.tokens / 2


def test_a_line_ending_with_a_colon_brings_the_list_it_announces():
    hits = [hit("minutes", 0, MINUTES),
            hit("report", 0, REPORT, "2021 Q1 Hyperledger Cactus", ["Maintainer Diversity"])]
    question = "Who are the four maintainers of Cactus?"
    text = prompt_of(assemble_focused(hits, question, 1200, 5), question)
    for name in ("Shingo Fujimoto", "Jonathan Hamilton", "Peter Somogyvari", "Takuma Takeuchi"):
        assert name in text


def test_the_best_hit_is_given_whole_within_its_share_and_a_page_matching_no_term_keeps_its_opening():
    best = "The board approved the budget.\nIt takes effect next quarter.\nThe vote was 7 to 2."
    dense_only = "Quarterly spending plans are drafted by the treasurer.\n" + FILLER
    hits = [hit("best", 0, best, "Budget"), hit("dense", 0, dense_only, "Finance")]
    question = "When does the spending freeze start?"
    text = prompt_of(assemble_focused(hits, question, 1200, 5), question)
    assert "It takes effect next quarter." in text and "The vote was 7 to 2." in text  # the top hit, whole
    assert "Quarterly spending plans are drafted by the treasurer." in text  # what the embedding found
    assert "Item 30" not in text


def test_lines_a_chunk_repeats_from_the_previous_one_appear_once():
    first = "- Process for electing a TSC Chair\n- Begin nomination period: Feb 11th\n- End nomination period: Feb 17th"
    # the chunker joins the overlap it repeats into one line
    second = ("- Process for electing a TSC Chair - Begin nomination period: Feb 11th "
              "- End nomination period: Feb 17th "
              "and the rest of the words that make this a long line of more than thirty words in all, as overlaps are\n"
              "- Send slate of nominees to TSC Members: Thursday, Feb 18th")
    hits = [hit("a", 0, "Unrelated opening line about chaintool."), hit("minutes", 0, first), hit("minutes", 1, second)]
    question = "When did the TSC chair nomination period end?"
    text = prompt_of(assemble_focused(hits, question, 1200, 5), question)
    assert text.count("End nomination period: Feb 17th") == 1


def test_question_words_are_not_terms():
    assert question_stems("Who were the maintainers of Cactus, and when did they start?") == ["maintain", "cactu",
                                                                                               "start"]
