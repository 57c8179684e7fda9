"""The demo's Slack side (tests/standins/slack_ask.py): its /ask is signed so that the bot's verifier (bolt's,
slack_sdk's SignatureVerifier) accepts it, and the answer it prints shows the text and the cited sources."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from backend.answers import ANSWERED, Answer, Source
from bot import messages
from bot.blocks import render_answer
from tests.standins.slack_ask import shown, signed_command

SECRET = "lore-demo-signing-secret"


def test_the_demo_ask_is_signed_as_slack_signs_it_and_the_bots_verifier_accepts_it():
    body, headers = signed_command(SECRET, "Who chairs the TSC?", "alice", "http://127.0.0.1:8091/hooks/k1")
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    form = parse_qs(body)
    assert form["command"] == ["/ask"] and form["text"] == ["Who chairs the TSC?"]
    assert form["user_id"] == ["U0ALICE"] and form["response_url"] == ["http://127.0.0.1:8091/hooks/k1"]


def test_a_stale_demo_ask_is_refused_by_the_verifier():
    body, headers = signed_command(SECRET, "q", "bob", "http://x/hooks/k", timestamp=time.time() - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_the_printed_answer_shows_its_text_and_sources_as_titles_with_links():
    sources = [Source(n=1, title="Besu & Curators", url="https://wiki.example/p1", doc_id="d1", snippet="s"),
               Source(n=2, title="TSC minutes", url="https://wiki.example/p2", doc_id="d2", snippet="s")]
    answer = Answer("Curators review releases [1][2].", sources=sources, status=ANSWERED)
    printed = shown(render_answer(answer, "What is a Curator?", messages.rule_private("alice@example.com"), "{}"))
    assert "Curators review releases [1][2]." in printed
    assert "[1] Besu & Curators (https://wiki.example/p1)" in printed
    assert "[2] TSC minutes (https://wiki.example/p2)" in printed
    assert "<https://" not in printed and "&amp;" not in printed
