"""A Slack thread as one document (connector/slack/threads.py) and a channel as configuration (ChannelConfig):
what people read in a source, and what admins may type."""

from __future__ import annotations

import pytest

from backend.channel_config import ChannelConfig
from backend.errors import BadRequest
from connector.slack import threads as t

NAMES = {"U1": "Ana Lima", "U2": "Bo Berg"}


def names(user_id: str) -> str:
    return NAMES.get(user_id, user_id)


def msg(ts: str, text: str, user: str = "U1", **extra) -> dict:
    return {"type": "message", "user": user, "text": text, "ts": ts, **extra}


ROOT = msg("1700000000.000100", "How do I mount &lt;/dev/sdb1&gt; at boot?", thread_ts="1700000000.000100",
           reply_count=4, latest_reply="1700000300.000500")
THREAD = [
    ROOT,
    msg("1700000060.000200", "<@U1>: add it to /etc/fstab, see <https://wiki.ubuntu.com/Fstab|the wiki>", user="U2",
        thread_ts=ROOT["ts"]),
    msg("1700000120.000300", "<@U2> has joined the channel", user="U2", subtype="channel_join"),
    msg("1700000180.000400", "Build 12 passed", user="", bot_id="B1", subtype="bot_message", thread_ts=ROOT["ts"]),
    msg("1700000240.000450", "Lore here: see Fstab", user="U0LOREBOT", bot_id="B0LORE", thread_ts=ROOT["ts"]),
    msg("1700000300.000500", "thanks &amp; it works, ask in <#C42|ubuntu-dev> next time <!here>", thread_ts=ROOT["ts"],
        edited={"user": "U1", "ts": "1700000400.000000"}),
]


def test_a_thread_reads_as_its_people_s_messages_with_names_times_and_plain_text() -> None:
    kept = t.people(THREAD)
    text = t.render(kept, names)

    assert text.splitlines() == [
        "Ana Lima (2023-11-14 22:13 UTC): How do I mount </dev/sdb1> at boot?",
        "Bo Berg (2023-11-14 22:14 UTC): @Ana Lima: add it to /etc/fstab, see the wiki (https://wiki.ubuntu.com/Fstab)",
        "Ana Lima (2023-11-14 22:18 UTC) (edited): thanks & it works, ask in #ubuntu-dev next time @here",
    ]
    for left_out in ("Build 12", "Lore here", "has joined"):  # bots (Lore's own answers too) and notices
        assert left_out not in text


def test_the_title_is_the_channel_and_the_first_words_of_the_root() -> None:
    assert t.title("ubuntu-help", t.people(THREAD), names) == "#ubuntu-help: How do I mount </dev/sdb1> at boot?"
    long = msg("1.0", " ".join(f"word{i}" for i in range(40)))
    assert t.title("dev", [long], names) == "#dev: " + " ".join(f"word{i}" for i in range(10))
    assert t.title("dev", [], names) == "#dev"


def test_which_history_messages_start_a_document() -> None:
    assert t.is_thread(ROOT)
    assert t.is_thread(msg("5.0", "a question nobody answered"))
    bot_alert = msg("6.0", "disk full", user="", bot_id="B1", subtype="bot_message", reply_count=2)
    assert t.is_thread(bot_alert)  # people discussed it: the thread is theirs
    assert not t.is_thread(msg("7.0", "nightly ok", user="", bot_id="B1", subtype="bot_message"))
    assert not t.is_thread(msg("8.0", "<@U2> has joined the channel", subtype="channel_join"))
    tombstone = msg("9.0", "This message was deleted.", user="USLACKBOT", subtype="tombstone", hidden=True,
                    thread_ts="9.0", reply_count=3)
    assert not t.is_thread(tombstone)  # a deleted root: the thread is gone
    broadcast = msg("10.0", "also sent to the channel", subtype="thread_broadcast", thread_ts="4.0")
    assert not t.is_thread(broadcast)  # a reply: it belongs to its thread's document


def test_the_version_changes_with_new_replies_root_edits_and_reply_edits_only() -> None:
    base = t.version(ROOT)
    assert base == "4:1700000300.000500"
    assert t.version({**ROOT, "reply_count": 5, "latest_reply": "1700000900.0"}) != base  # a new reply
    assert t.version({**ROOT, "reply_count": 3}) != base  # a deleted reply
    assert t.version({**ROOT, "edited": {"ts": "1700009999.0"}}) != base  # the root edited
    unedited = [m for m in THREAD if not m.get("edited")]
    assert t.version(ROOT, unedited) == base  # replies read but none edited: same as the listing alone
    assert t.version(ROOT, THREAD) != base  # an edited reply shows only in the replies
    re_edited = [*THREAD[:-1], {**THREAD[-1], "edited": {"ts": "1700000500.0"}}]
    assert t.version(ROOT, re_edited) != t.version(ROOT, THREAD)


def test_permalinks_have_slack_s_archive_form() -> None:
    assert (t.permalink("https://acme.slack.com/", "C0HELP", "1700000000.000100")
            == "https://acme.slack.com/archives/C0HELP/p1700000000000100")


@pytest.mark.parametrize("raw, channel, public", [
    ("C0HELP", "C0HELP", False), ("slack:C0HELP", "C0HELP", False), (" G0OLD12 ", "G0OLD12", False),
    ({"channel": "C0DEV", "public": True}, "C0DEV", True), ({"key": "C0DEV"}, "C0DEV", False),
])
def test_a_channel_is_configured_under_its_own_key(raw, channel, public) -> None:
    config = ChannelConfig.parse(raw)
    assert (config.channel, config.key, config.public) == (channel, f"slack:{channel}", public)
    assert config.to_dict()["channel"] == channel and "unrestricted_only" not in config.to_dict()


@pytest.mark.parametrize("raw, says", [
    ("TOC", "not a Slack channel id"), ("c0help", "not a Slack channel id"), ("C0;DROP", "not a Slack channel id"),
    ({"channel": "C0DEV", "public": "yes"}, "'public' must be true or false"),
    ({"channel": "C0DEV", "unrestricted_only": True}, "Unknown channel field"),
    ({"channel": "C0DEV", "key": "C0DEV"}, "not both"), (42, "must be an id"),
])
def test_what_is_not_a_channel_is_refused_with_a_reason(raw, says) -> None:
    with pytest.raises(BadRequest, match=says):
        ChannelConfig.parse(raw)


def test_the_app_manifest_grants_every_scope_the_channel_source_needs() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifests/slack/manifest.yaml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # history and replies (public, private), channel list/info/members (public, private), members' emails
    assert {"channels:history", "groups:history", "channels:read", "groups:read", "users:read",
            "users:read.email"} <= scopes
