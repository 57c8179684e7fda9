"""Minutes keep only what the transcript supports: a statement whose content words nobody said is dropped and
counted; minutes with nothing supported left fall back to the transcript's own sentences, marked as such."""

from __future__ import annotations

from backend.minutes import grounding
from backend.minutes.grounding import Dropped, Vocabulary, ground_notes
from backend.minutes.notes import Notes
from backend.minutes.summarize import _assemble, _State, _window_notes, _windows
from backend.minutes.types import ActionItem, Segment, Topic

SEGMENTS = [
    Segment(0, 9, "Let's start with the budget for the translation vendor, it went over by ten percent.", "Anna"),
    Segment(9, 18, "Our decision is to switch vendors after the March release.", "Ben"),
    Segment(18, 27, "I will ask Priya for the last invoice by Monday.", "Anna"),
    Segment(27, 36, "Who reviews the German glossary before we send it out?", "Ben"),
]
# the 0.5B model's minutes of the 11-second JFK clip (../shared/data/audio/jfk.wav), as it wrote them
JFK = [Segment(0, 11, "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
                      "for your country.", "Speaker 1")]
JFK_NOTES = dict(summary="Discussing the challenges faced by Americans in their country and how they can overcome "
                         "them.",
                 open_questions=["What are some of the challenges that Americans face in their country?",
                                 "How can these challenges be overcome?"])


def test_a_summary_that_says_what_was_said_is_kept_whole_in_other_words():
    notes = Notes(summary="The team discussed the translation vendor's budget, which went over. They decided to "
                          "switch vendors after the March release.",
                  decisions=["Switch translation vendors after the March release"],
                  action_items=[ActionItem("Ask Priya for the last invoice", "Anna", "Monday")],
                  open_questions=["Who reviews the German glossary?"])
    dropped = Dropped()

    out = ground_notes(Notes(**vars(notes)), Vocabulary(SEGMENTS), dropped)

    assert out == notes and len(dropped) == 0


def test_an_invented_sentence_decision_action_and_question_are_dropped_and_counted():
    invented = "The board approved a new football stadium in Denver."
    notes = Notes(summary=f"The translation budget went over by ten percent. {invented}",
                  decisions=["Switch vendors after the March release", "Hire three data scientists"],
                  action_items=[ActionItem("Ask Priya for the invoice", "Anna"), ActionItem("Renovate the lobby")],
                  open_questions=["Who reviews the German glossary?", "When will the cafeteria reopen?"])
    dropped = Dropped()

    out = ground_notes(notes, Vocabulary(SEGMENTS), dropped)

    assert out.summary == "The translation budget went over by ten percent."
    assert out.decisions == ["Switch vendors after the March release"]
    assert [a.task for a in out.action_items] == ["Ask Priya for the invoice"]
    assert out.open_questions == ["Who reviews the German glossary?"]
    assert dropped.items == [invented, "Hire three data scientists", "Renovate the lobby",
                             "When will the cafeteria reopen?"]


def test_stems_and_prefixes_count_as_said():
    vocab = Vocabulary([Segment(0, 1, "We agreed the vendors are replaced by spring.", "Ben")])
    # all but "announced"
    assert grounding.support("Ben announced the replacement of a vendor in the spring.", vocab) == 0.8
    assert grounding.support("A vendor was hired.", vocab) == 0.5  # "hired" was not said
    assert grounding.support("The team decided.", vocab) == 1.0  # only the words of any minutes: nothing to check


def test_minutes_nobody_said_fall_back_to_the_transcripts_own_sentences_marked_extractive():
    [window] = _windows(JFK, 2000, timed=True)
    state = _State()

    part = _window_notes(lambda: Notes(**JFK_NOTES, topics=[Topic("Country", 0.0)]), window, True, state)
    minutes = _assemble([part], [window], JFK, state, timed=True, meeting="jfk", date="", attendees=[],
                        max_items=12, reduce=_no_reduce)

    assert minutes.method == "extractive"
    assert "challenges" not in repr(minutes)
    assert "ask not what your country can do for you" in minutes.summary
    assert any("does not say" in n and "3 statements" in n for n in minutes.notes), minutes.notes


def test_a_final_summary_that_no_part_said_is_replaced_by_the_parts_summaries():
    windows = _windows(SEGMENTS, 40, timed=True)
    assert len(windows) > 1
    state = _State()
    parts = [_window_notes(lambda w=w: Notes(summary=w.segments[0].text), w, True, state) for w in windows]

    minutes = _assemble(parts, windows, SEGMENTS, state, timed=True, meeting="Vendors", date="", attendees=[],
                        max_items=12, reduce=lambda _parts: ("Vendors", "Everyone praised the new cafeteria menu."))

    assert minutes.method == "llm"
    assert "cafeteria" not in minutes.summary and "translation vendor" in minutes.summary
    assert any("1 statements" in n and "left out" in n for n in minutes.notes), minutes.notes


def _no_reduce(_parts):
    raise AssertionError("one window: nothing to reduce")
