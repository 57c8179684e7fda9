"""Reading what the model wrote: the JSON validator (lenient where the meaning is clear, strict where it
is not) and the plain-text fallback parser, plus the transcript file reader and the time codes."""

from __future__ import annotations

import json

import pytest

from backend.minutes.notes import SCHEMA, InvalidNotes, parse_action_line, parse_plain, validate
from backend.minutes.timecode import format_time, parse_time
from backend.minutes.transcript_file import parse_text, read_transcript
from backend.minutes.types import ActionItem, Segment, Topic, Transcript

GOOD = {"title": "Release sync", "summary": "The team planned the release.", "decisions": ["Ship on Friday"],
        "action_items": [{"owner": "Bob", "task": "Fix the installer", "due": "Thursday"},
                         {"owner": "none", "task": "Update docs", "due": "N/A"}],
        "topics": [{"title": "Release date", "start": "01:05"}, {"title": "Docs", "start": "later"}],
        "open_questions": ["Who owns the docs?", "none"], "names": ["Carol"]}


def test_valid_json_becomes_notes_with_times_in_seconds_and_unknowns_blank():
    notes = validate(json.dumps(GOOD))
    assert notes.summary == "The team planned the release."
    assert notes.action_items == [ActionItem("Fix the installer", "Bob", "Thursday"), ActionItem("Update docs")]
    assert notes.topics == [Topic("Release date", 65.0), Topic("Docs", None)]
    assert notes.open_questions == ["Who owns the docs?"] and notes.names == ["Carol"]


def test_json_inside_a_fence_or_chatter_is_found():
    fenced = "Here are the minutes:\n```json\n" + json.dumps(GOOD) + "\n```\nHope this helps!"
    assert validate(fenced).title == "Release sync"
    assert validate("Sure! " + json.dumps(GOOD) + " Done.").decisions == ["Ship on Friday"]


def test_missing_lists_are_empty_and_items_as_plain_strings_are_read():
    notes = validate(json.dumps({"summary": "Short.", "action_items": ["Bob | Fix it | Friday"],
                                 "topics": ["Budget"]}))
    assert notes.action_items == [ActionItem("Fix it", "Bob", "Friday")]
    assert notes.topics == [Topic("Budget", None)] and notes.decisions == []


@pytest.mark.parametrize("reply, why", [
    ("I cannot do that.", "no JSON object"),
    ('{"summary": "x", "decisions": "ship it"}', '"decisions" must be a list'),
    ('{"title": "x", "summary": ""}', '"summary" is missing'),
    ('{"summary": "unterminated', "no JSON object"),
    ('{"summary": "x",, }', "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
])
def test_unusable_replies_are_refused_with_a_reason_the_retry_can_quote(reply, why):
    with pytest.raises(InvalidNotes, match=why):
        validate(reply)


def test_schema_requires_every_key_and_bounds_lists():
    assert set(SCHEMA["required"]) == set(SCHEMA["properties"])
    assert all(SCHEMA["properties"][k]["maxItems"] for k in ("decisions", "action_items", "topics"))


PLAIN = """Title: Release sync
Summary: The team planned the 2.0 release.
It will ship on Friday.

**Decisions:**
- Ship 2.0 on Friday
Action items:
- Bob | Fix the Windows installer | Thursday
- Carol: update the user guide (due next week)
- Write the release notes
Topics:
- 00:05 Release date
- [12:34] Installer
- Documentation
Open questions:
- none
Names:
1. Carol
"""


def test_plain_text_form_is_read_section_by_section():
    notes = parse_plain(PLAIN)
    assert notes.title == "Release sync"
    assert notes.summary == "The team planned the 2.0 release. It will ship on Friday."
    assert notes.decisions == ["Ship 2.0 on Friday"]
    assert notes.action_items == [ActionItem("Fix the Windows installer", "Bob", "Thursday"),
                                  ActionItem("update the user guide", "Carol", "next week"),
                                  ActionItem("Write the release notes")]
    assert notes.topics == [Topic("Release date", 5.0), Topic("Installer", 754.0), Topic("Documentation", None)]
    assert notes.open_questions == [] and notes.names == ["Carol"]


def test_plain_text_without_headings_is_a_summary_and_garbage_is_empty():
    assert parse_plain("The meeting was about budgets.").summary == "The meeting was about budgets."
    assert parse_plain("").empty() and parse_plain("---\n***\n").empty()


def test_action_lines():
    assert parse_action_line("none | Fix it | tbd") == ActionItem("Fix it")
    assert parse_action_line("Send the deck (by Monday)") == ActionItem("Send the deck", due="Monday")
    assert parse_action_line("Bob |  | Friday") is None


def test_time_codes_round_trip_and_reject_nonsense():
    assert [format_time(t) for t in (0, 12.7, 754, 3599, 3725)] == ["00:00", "00:12", "12:34", "59:59", "1:02:05"]
    assert [parse_time(t) for t in ("00:12", "12:34", "1:02:05", "[03:00]", "75:10")] == [12, 754, 3725, 180, 4510]
    assert [parse_time(t) for t in ("", "N/A", "12:75", "1:75:00", "soon")] == [None] * 5


def test_plain_transcript_lines_become_segments_with_honest_speakers(tmp_path):
    t = parse_text("Alice: We ship Friday.\n\nSpeaker 2: Fine by me: really.\n[01:10] Bob: Late note.\n"
                   "no speaker here. Really: none\n")
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("Alice", "We ship Friday."), ("Speaker 2", "Fine by me: really."), ("Bob", "Late note."),
        ("", "no speaker here. Really: none")]
    assert t.segments[2].start == 70.0 and t.segments[1].end == 70.0
    path = tmp_path / "t.json"
    path.write_text(json.dumps(Transcript([Segment(1.0, 2.5, "Hi", "Ann")], "en", 2.5, "tiny.en").to_json()))
    assert read_transcript(path) == Transcript([Segment(1.0, 2.5, "Hi", "Ann")], "en", 2.5, "tiny.en")
