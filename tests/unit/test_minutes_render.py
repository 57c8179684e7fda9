"""The minutes page as Confluence stores it: every section, times that name the point in the recording,
and transcript text that can never become markup, a macro or a broken page."""

from __future__ import annotations

from lxml import etree

from backend.minutes.render import render_storage
from backend.minutes.types import ActionItem, Minutes, Topic

NS = 'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier"'


def parse(storage: str) -> etree._Element:
    """The page as Confluence's XHTML parser sees it: it must be well-formed XML in the ac/ri namespaces."""
    return etree.fromstring(f"<root {NS}>{storage}</root>".encode())


def minutes(**changes) -> Minutes:
    m = Minutes(title="Release sync", date="2026-11-29", attendees=["Alice", "Speaker 2"],
                summary="We planned the 2.0 release.", decisions=["Ship 2.0 on Friday."],
                action_items=[ActionItem("Fix the Windows installer", "Bob", "Thursday"),
                              ActionItem("Update the user guide")],
                topics=[Topic("Release date", 5.0), Topic("Installer", 754.0), Topic("Docs", 3725.0),
                        Topic("Untimed", None)],
                open_questions=["Who owns the docs?"])
    for k, v in changes.items():
        setattr(m, k, v)
    return m


def headings(root) -> list[str]:
    return [h.text for h in root.iter("h2")]


def test_page_has_every_section_in_order_with_the_action_table():
    root = parse(render_storage(minutes(), recording_title="sync.mp4"))
    assert headings(root) == ["Summary", "Decisions", "Action items", "Topics", "Attendees", "Open questions"]
    rows = [[("".join(td.itertext())) for td in tr] for tr in root.iter("tr")]
    assert rows == [["Owner", "Task", "Due"], ["Bob", "Fix the Windows installer", "Thursday"],
                    ["not named", "Update the user guide", "not said"]]
    text = "".join(root.itertext())
    assert "sync.mp4" in text and "2026-11-29" in text and "Who owns the docs?" in text
    assert "Speaker 2" in text  # an unnamed speaker stays as labelled


def test_topic_times_name_the_point_in_the_recording():
    root = parse(render_storage(minutes()))
    topics = ["".join(li.itertext()) for li in root.xpath("//h2[.='Topics']/following-sibling::ul[1]/li")]
    assert topics == ["00:05 Release date", "12:34 Installer", "1:02:05 Docs", "Untimed"]


def test_empty_sections_say_so_and_llm_minutes_carry_no_extractive_note():
    storage = render_storage(Minutes(title="Empty"))
    root = parse(storage)
    assert headings(root) == ["Summary", "Decisions", "Action items", "Topics", "Attendees", "Open questions"]
    assert storage.count("None recorded.") == 6
    assert "without the language model" not in storage


def test_extractive_minutes_carry_a_visible_note_and_the_reason():
    m = minutes(method="extractive", notes=["The LLM server is not reachable."])
    root = parse(render_storage(m))
    macros = root.findall("{http://atlassian.com/content}structured-macro")
    names = [x.get("{http://atlassian.com/content}name") for x in macros]
    assert names == ["note", "info"]
    assert "without the language model" in "".join(macros[0].itertext())
    assert "The LLM server is not reachable." in "".join(macros[1].itertext())


def test_minutes_made_extractive_by_the_grounding_check_do_not_blame_the_model_being_down():
    why = "The language model's notes stated things the transcript does not say (3 statements)."
    root = parse(render_storage(minutes(method="extractive", notes=[why])))
    note, info = ("".join(m.itertext()) for m in root.findall("{http://atlassian.com/content}structured-macro"))
    assert "not available" not in note and "without the language model" in note
    assert why in info


INJECTIONS = [
    "<script>alert(1)</script>",
    '<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA[<img src=x onerror=alert(1)>]]>'
    "</ac:plain-text-body></ac:structured-macro>",
    '"><a href="javascript:alert(1)">x</a>',
    "]]> &amp; &lt;b&gt; &#60;i&#62;",
    "{html}<b>wiki markup</b>{html}",
    "bell\x07 null\x00 escape\x1b done",
]


def test_transcript_text_never_becomes_markup_in_any_field():
    for evil in INJECTIONS:
        m = Minutes(title=evil, date=evil, attendees=[evil], summary=evil, decisions=[evil],
                    action_items=[ActionItem(evil, evil, evil)], topics=[Topic(evil, 1.0)],
                    open_questions=[evil], method="extractive", notes=[evil])
        root = parse(render_storage(m, recording_title=evil))
        tags = {etree.QName(el).localname for el in root.iter() if isinstance(el.tag, str)}
        assert tags <= {"root", "p", "br", "strong", "em", "h2", "ul", "li", "table", "tbody", "tr", "th", "td",
                        "structured-macro", "parameter", "rich-text-body"}, evil
        macros = [x.get("{http://atlassian.com/content}name") for x in root.iter("{*}structured-macro")]
        assert macros == ["note", "info"], evil
        assert not any(el.get("href") for el in root.iter() if isinstance(el.tag, str))
        text = "".join(root.itertext())
        if "\x00" not in evil:
            assert " ".join(evil.split()) in text, evil  # shown as the words it is, not swallowed


def test_control_characters_are_dropped_so_confluence_accepts_the_page():
    root = parse(render_storage(minutes(summary="bell\x07 null\x00 escape\x1b done")))
    assert "bell null escape done" in "".join(root.itertext())
