"""Answers as Block Kit (bot.blocks): what a Slack user sees, within Slack's limits, with nothing unescaped."""

from __future__ import annotations

import json

from backend.answers import ANSWERED, SOURCES_ONLY, Answer, Source
from bot import messages
from bot.blocks import (
    CONTEXT_ELEMENTS,
    FEEDBACK_ACTIONS,
    MAX_BLOCKS,
    MESSAGE_CHARS,
    SECTION_CHARS,
    answer_mrkdwn,
    escape,
    link,
    render_answer,
    split,
)

RULE = messages.rule_private("alice@example.com")


def source(n: int, title: str = "Release process", url: str | None = None) -> Source:
    return Source(n=n, title=title, url=url or f"https://wiki.example/page-{n}", doc_id=f"doc-{n}",
                  snippet="How we <mark>cut</mark> a release &amp; tag it")


def sections(message: dict) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def all_text(message: dict) -> str:
    return json.dumps(message["blocks"])


def test_slack_control_sequences_in_page_text_are_escaped_so_nobody_is_pinged():
    answer = Answer("Tell <!channel> & <@U123>: deploy <b>now</b> [1]", sources=[source(1)], status=ANSWERED)
    text = sections(render_answer(answer, "a <question> & more", RULE, "{}"))[0]
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in text
    assert "&lt;b&gt;now&lt;/b&gt;" in text
    assert text.endswith("<https://wiki.example/page-1|[1]>")


def test_citations_link_to_their_sources_and_unknown_numbers_stay_plain_text():
    sources = [source(1), source(2, url="https://wiki.example/a?x=1&y=2")]
    text = answer_mrkdwn("Use the **release** checklist [1][2], not [7].", sources)
    assert text == ("Use the *release* checklist <https://wiki.example/page-1|[1]>"
                    "<https://wiki.example/a?x=1&amp;y=2|[2]>, not [7].")


def test_a_link_cannot_be_broken_by_its_url_or_title():
    made = link("https://wiki.example/a b|c>d", "Q&A <draft> | notes")
    assert made == "<https://wiki.example/a%20b%7Cc%3Ed|Q&amp;A &lt;draft&gt; | notes>"
    assert escape("a&b<c>d") == "a&amp;b&lt;c&gt;d"


def test_sources_are_numbered_links_in_context_blocks_of_at_most_ten():
    sources = [source(n, title=f"Page {n}") for n in range(1, 13)]
    message = render_answer(Answer("See [1].", sources=sources, status=ANSWERED), "q", RULE, "{}")
    contexts = [b for b in message["blocks"] if b["type"] == "context"]
    links = [e["text"] for b in contexts for e in b["elements"] if e["text"].startswith("<https://")]
    assert links == [f"<https://wiki.example/page-{n}|[{n}] Page {n}>" for n in range(1, 13)]
    assert all(len(b["elements"]) <= CONTEXT_ELEMENTS for b in contexts)


def test_sources_only_answer_shows_the_notice_and_each_page_with_its_snippet():
    notice = "The answer service is unavailable right now; here are the most relevant pages."
    answer = Answer("", sources=[source(1), source(2)], notice=notice, status=SOURCES_ONLY)
    message = render_answer(answer, "How do we cut a release?", RULE, "{}")
    body = sections(message)[0]
    assert body.startswith(messages.sources_heading())
    assert "<https://wiki.example/page-1|[1] Release process>: How we *cut* a release &amp; tag it" in body
    assert notice in all_text(message)
    assert message["text"]  # notifications and screen readers get a fallback text


def test_feedback_buttons_carry_the_answer_reference():
    message = render_answer(Answer("Yes [1].", sources=[source(1)]), "q", RULE, '{"answer": "abc"}')
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == list(FEEDBACK_ACTIONS)
    assert {e["value"] for e in actions[0]["elements"]} == {'{"answer": "abc"}'}


def test_a_long_answer_is_split_into_sections_within_slack_limits():
    paragraph = ("The release manager tags the branch, runs the checks and publishes the notes [1]. " * 20).strip()
    answer = Answer("\n\n".join([paragraph] * 4), sources=[source(1)], status=ANSWERED)  # ~9k as mrkdwn
    message = render_answer(answer, "q", RULE, "{}")
    parts = sections(message)
    assert len(parts) >= 4
    assert all(len(p) <= SECTION_CHARS for p in parts)
    assert all(p.count("<") == p.count(">") for p in parts)  # no link cut in half
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert messages.too_long() not in all_text(message)  # it fitted: nothing was cut


def test_an_answer_beyond_one_message_is_cut_cleanly_and_says_so():
    words = " ".join(f"word{i} [1]" for i in range(6000))  # ~60k characters once the citations are links
    message = render_answer(Answer(words, sources=[source(1)], status=ANSWERED), "q", RULE, "{}")
    parts = sections(message)
    assert parts[-1] == f"_{messages.too_long()}_"
    assert all(len(p) <= SECTION_CHARS for p in parts)
    assert sum(len(p) for p in parts) <= MESSAGE_CHARS
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert all(p.count("<") == p.count(">") for p in parts)
    assert [b["type"] for b in message["blocks"]][-2:] == ["context", "actions"]  # rule and buttons survive


def test_split_never_cuts_inside_an_entity_or_a_link():
    text = "x" * 2997 + "&amp;" + " tail"  # a cut at 3000 would leave "&am"
    pieces = split(text, 3000)
    assert pieces == ["x" * 2997, "&amp; tail"]
    linked = "y" * 2990 + "<https://wiki.example/p|[1]>"
    assert split(linked, 3000) == ["y" * 2990, "<https://wiki.example/p|[1]>"]
