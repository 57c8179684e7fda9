"""Slack channels as a source, on the real index, against the Slack stand-in loaded with real IRC support threads:
threads indexed and findable by members, paging to the end, edits and deletes, membership as the ACL, 429s, purge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from backend.acl import acl_filter
from backend.api.admin import init_app
from backend.channel_config import ChannelConfig, ChannelStore
from backend.channels import ChannelMembers
from backend.embeddings import Embedder
from backend.identity import IdentityResolver
from backend.markers import IS_MARKER
from backend.search import Searcher
from backend.settings import Settings
from connector.__main__ import EXIT_FAILED, EXIT_OK, main
from connector.report import SyncReport
from connector.slack.sync import slack_runner
from tests.standins import slack_app
from tests.standins.slack_channels import CORE, DEV, HELP, ChannelSeed, seed_channels

THREADS = 60  # of the 233: 36 in #ubuntu-help (more than two history pages), 12 in #ubuntu-dev, 12 in #core-team
ADMIN = {"Authorization": "Bearer channel-admin-token"}


@dataclass
class SlackEnv:
    state: slack_app.SlackState
    seed: ChannelSeed
    settings: Settings
    es: Elasticsearch
    embedder: Embedder
    store: ChannelStore

    def sync(self, *channels: str, full: bool = False) -> SyncReport:
        runner = slack_runner(self.settings, self.es, self.embedder, store=self.store)
        return runner.sync([self.store.get_space(c) for c in channels or (HELP, DEV, CORE)], full=full)

    def docs(self) -> dict[str, str]:
        """doc_id -> the document's text (its chunks joined in order)."""
        self.es.indices.refresh(index=self.settings.es.index)
        query = {"query": {"bool": {"must_not": IS_MARKER}}, "_source": ["doc_id", "chunk_no", "text"]}
        parts: dict[str, list] = {}
        for hit in scan(self.es, index=self.settings.es.index, query=query):
            src = hit["_source"]
            parts.setdefault(src["doc_id"], []).append((src["chunk_no"], src["text"]))
        return {d: "\n".join(text for _, text in sorted(p)) for d, p in parts.items()}

    def visible(self, identities: list[str]) -> set[str]:
        self.es.indices.refresh(index=self.settings.es.index)
        query = {"query": {"bool": {"filter": acl_filter(identities)}}, "_source": ["doc_id"]}
        return {h["_source"]["doc_id"] for h in scan(self.es, index=self.settings.es.index, query=query)}

    def reader(self, email: str | None = None, slack_user: str | None = None) -> list[str]:
        """What the API or the bot would search with for this reader (no Confluence: channels and public)."""
        resolver = IdentityResolver(None, channels=ChannelMembers(self.es, self.settings.slack_source))
        return resolver.resolve(email, slack_user=slack_user)

    def thread_ids(self, channel: str) -> set[str]:
        return {f"slack:thread:{channel}:{root}" for root, _ in self.seed.threads[channel]}

    def email(self, user_id: str) -> str:
        return self.state.users[user_id]["profile"]["email"]


@pytest.fixture
def slack_env(isolated_settings: Settings, es: Elasticsearch, embedder: Embedder, shared_data: Path
              ) -> Iterator[SlackEnv]:
    state = slack_app.SlackState()
    state.replies_max_limit = 4  # threads run to 30 messages: their replies page too
    seed = seed_channels(state, shared_data / "chat" / "ubuntu-irc-dev-threads.jsonl", limit=THREADS)
    with slack_app.serve(state) as server:
        s = isolated_settings
        settings = replace(s, slack=replace(s.slack, api_url=server.api_url, bot_token=state.bot_token),
                           slack_source=replace(s.slack_source, members_index=f"{s.es.config_index}-members"))
        store = ChannelStore(es, settings.es)
        for channel in (HELP, DEV, CORE):
            store.add_space(ChannelConfig.parse(channel))
        yield SlackEnv(state, seed, settings, es, embedder, store)


def history_calls(env: SlackEnv, channel: str) -> list[slack_app.Call]:
    return [c for c in env.state.calls_of("conversations.history") if c.args.get("channel") == channel]


def test_threads_are_indexed_one_document_each_and_found_by_members_only(slack_env: SlackEnv) -> None:
    report = slack_env.sync()

    assert report.ok, report.render()
    docs = slack_env.docs()
    expected = slack_env.thread_ids(HELP) | slack_env.thread_ids(DEV) | slack_env.thread_ids(CORE)
    assert set(docs) == expected  # every thread, nothing else: no bot root, no join notice
    # the history of #ubuntu-help is 3 pages of 15: the oldest thread is on the last one
    assert len([c for c in history_calls(slack_env, HELP) if c.status == 200]) >= 3
    oldest, oldest_replies = slack_env.seed.threads[HELP][0]
    assert f"slack:thread:{HELP}:{oldest}" in docs
    # a thread's replies are paged too (4 a page here), to the last one
    longest = max(slack_env.seed.threads[HELP], key=lambda t: len(t[1]))
    assert len(longest[1]) > 8
    text = docs[f"slack:thread:{HELP}:{longest[0]}"]
    assert len(text.splitlines()) >= len(longest[1])  # root and every reply, one line each (chunks may overlap)
    # people's names and times, mentions resolved, Slack's escaping undone; no bot and no notice text anywhere
    everything = "\n".join(docs.values())
    for banned in ("Nightly build 4711", "Lore here", "has joined the channel", "&lt;", "&amp;", "<@U0"):
        assert banned not in everything, banned
    root_text = slack_env.seed.texts[oldest]
    first_line = docs[f"slack:thread:{HELP}:{oldest}"].splitlines()[0]
    assert " UTC): " in first_line and root_text.split()[-1] in first_line

    # a member of #ubuntu-help finds a thread by what it says, with its Slack link; others do not see it
    poster = next(u for u in slack_env.state.channels.channels[HELP].members
                  if slack_env.state.users[u]["profile"].get("email"))
    member = slack_env.reader(email=slack_env.email(poster))
    assert f"slack-channel:{HELP}" in member
    searcher = Searcher(slack_env.es, slack_env.settings, slack_env.embedder)
    hits = searcher.search(root_text, member, k=5).docs
    hit = next(d for d in hits if d.doc_id == f"slack:thread:{HELP}:{oldest}")
    assert hit.url == f"https://lore-standin.slack.com/archives/{HELP}/p{oldest.replace('.', '')}"
    assert hit.title.startswith("#ubuntu-help: ")
    assert not any(d.doc_id.startswith(f"slack:thread:{HELP}:") for d in searcher.search(root_text, ["public"]).docs)


def test_an_edit_and_deletes_are_picked_up_by_the_next_sync(slack_env: SlackEnv) -> None:
    assert slack_env.sync(HELP).ok
    threads = slack_env.seed.threads[HELP]
    chan = slack_env.state.channels
    old_root = threads[0][0]  # long ago: its root edit shows in the history listing
    recent_root, recent_replies = next(t for t in reversed(threads) if len(t[1]) >= 2)  # within the re-read window
    cut_root, cut_replies = next(t for t in threads[1:] if len(t[1]) >= 2 and t[0] != recent_root)
    gone_root = next(t[0] for t in threads[1:] if t[1] and t[0] not in (recent_root, cut_root))
    chan.edit(HELP, old_root, "How do I make the quokka daemon start at boot?")
    chan.edit(HELP, recent_replies[0], "Edited: use the wombat scheduler instead")
    cut_text = next(m for m in chan.channels[HELP].messages if m["ts"] == cut_replies[-1])["text"]
    chan.delete(HELP, cut_replies[-1])
    chan.delete(HELP, gone_root)  # a root with replies: Slack leaves a tombstone
    before = slack_env.embedder.texts

    report = slack_env.sync(HELP)

    assert report.ok, report.render()
    space = report.spaces[0]
    assert space.mode == "incremental"
    docs = slack_env.docs()
    assert "quokka daemon start at boot (edited)" not in docs[f"slack:thread:{HELP}:{old_root}"]
    assert "(edited): How do I make the quokka daemon start at boot?" in docs[f"slack:thread:{HELP}:{old_root}"]
    assert "Edited: use the wombat scheduler instead" in docs[f"slack:thread:{HELP}:{recent_root}"]
    assert cut_text not in docs[f"slack:thread:{HELP}:{cut_root}"]
    assert f"slack:thread:{HELP}:{gone_root}" not in docs
    assert (space.added, space.updated, space.deleted) == (0, 3, 1)
    assert slack_env.embedder.texts - before <= 3 * 3  # only the three changed threads were embedded again


def test_a_member_only_channel_is_invisible_to_non_members_and_membership_changes_count_at_the_next_sync(
        slack_env: SlackEnv) -> None:
    assert slack_env.sync(CORE).ok
    core = slack_env.thread_ids(CORE)
    alice_by_email = slack_env.reader(email="alice@example.com")
    alice_by_slack = slack_env.reader(slack_user="U0ALICE")
    bob = slack_env.reader(email="bob@example.com")
    assert core <= slack_env.visible(alice_by_email) and core <= slack_env.visible(alice_by_slack)
    assert not core & slack_env.visible(bob)
    assert not core & slack_env.visible(["public"])
    searcher = Searcher(slack_env.es, slack_env.settings, slack_env.embedder)
    question = slack_env.seed.texts[slack_env.seed.threads[CORE][0][0]]
    assert any(d.doc_id in core for d in searcher.search(question, alice_by_email, k=5).docs)
    assert not any(d.doc_id in core for d in searcher.search(question, bob, k=10).docs)

    chan = slack_env.state.channels
    chan.set_members(CORE, [u for u in chan.channels[CORE].members if u not in ("U0ALICE", "U0LOREBOT")] + ["U0BOB"])
    report = slack_env.sync(CORE)

    assert report.ok and report.spaces[0].chunks == 0  # nothing embedded again: membership is not in the chunks
    assert not core & slack_env.visible(slack_env.reader(email="alice@example.com"))
    assert core <= slack_env.visible(slack_env.reader(email="bob@example.com"))


def test_a_channel_the_bot_was_removed_from_is_hidden_from_everyone_by_the_next_sync(slack_env: SlackEnv) -> None:
    assert slack_env.sync(CORE).ok
    core = slack_env.thread_ids(CORE)
    alice = slack_env.reader(email="alice@example.com")
    assert core <= slack_env.visible(alice)
    chan = slack_env.state.channels
    chan.channels[CORE].members.remove("U0LOREBOT")  # someone kicked Lore out of the private channel

    report = slack_env.sync(CORE)

    assert report.spaces[0].status == "failed" and "/invite @Lore" in report.spaces[0].last_error
    assert not core & slack_env.visible(alice)  # what Lore can no longer read, nobody finds through Lore
    assert core <= set(slack_env.docs())  # hidden, not deleted: inviting Lore back restores it without embedding
    chan.channels[CORE].members.append("U0LOREBOT")
    again = slack_env.sync(CORE)
    assert again.ok and again.spaces[0].chunks == 0 and core <= slack_env.visible(alice)


def test_a_public_channel_marked_readable_by_all_is_found_by_everyone(slack_env: SlackEnv) -> None:
    slack_env.store.add_space(ChannelConfig.parse({"channel": DEV, "public": True}))
    slack_env.store.add_space(ChannelConfig.parse({"channel": CORE, "public": True}))  # private: members only
    assert slack_env.sync(DEV, CORE).ok
    everyone = slack_env.visible(["public"])
    assert slack_env.thread_ids(DEV) <= everyone and not slack_env.thread_ids(CORE) & everyone


def test_a_429_in_the_middle_of_the_history_is_waited_out_and_nothing_is_lost(slack_env: SlackEnv) -> None:
    slack_env.state.rate_limit("conversations.history", count=1, retry_after=2, after=1)  # page 2 answers 429
    started = time.monotonic()

    report = slack_env.sync(HELP)

    assert report.ok, report.render()
    assert time.monotonic() - started >= 2  # Retry-After was honoured
    statuses = [c.status for c in history_calls(slack_env, HELP)]
    assert statuses[:3] == [200, 429, 200] and statuses.count(429) == 1
    assert set(slack_env.docs()) == slack_env.thread_ids(HELP)


def test_a_channel_removed_by_the_admin_is_purged_with_its_members(slack_env: SlackEnv) -> None:
    assert slack_env.sync(HELP, CORE).ok
    from flask import Flask

    settings = replace(slack_env.settings, api=replace(slack_env.settings.api, admin_token=ADMIN["Authorization"][7:]))
    app = Flask("channels-admin-test")
    init_app(app, settings)
    client = app.test_client()
    listed = client.get("/api/admin/channels", headers=ADMIN).get_json()["channels"]
    assert {c["channel"] for c in listed} == {HELP, DEV, CORE}
    available = client.get("/api/admin/channels/available", headers=ADMIN).get_json()["channels"]
    assert {c["channel"] for c in available} == {HELP, DEV, CORE}  # the bot is in all three (core is private)
    assert client.put("/api/admin/channels", headers=ADMIN, json=["C0123!"]).status_code == 400
    assert client.put("/api/admin/channels", json=[HELP]).status_code == 401

    resp = client.put("/api/admin/channels", headers=ADMIN, json={"channels": [HELP, {"channel": DEV, "public": True}]})

    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["purged_chunks"][CORE] > 0
    docs = slack_env.docs()
    assert not slack_env.thread_ids(CORE) & set(docs) and slack_env.thread_ids(HELP) <= set(docs)
    assert ChannelMembers(slack_env.es, settings.slack_source).members(CORE) is None
    assert f"slack-channel:{CORE}" not in slack_env.reader(email="alice@example.com")
    assert {c.channel: c.public for c in slack_env.store.list_spaces()} == {HELP: False, DEV: True}


def test_an_admin_chooses_syncs_and_removes_a_channel_from_the_command_line(
        slack_env: SlackEnv, capsys: pytest.CaptureFixture) -> None:
    s = slack_env.settings
    env = {"LORE_ES_URL": s.es.url, "LORE_ES_INDEX": s.es.index, "LORE_ES_CONFIG_INDEX": s.es.config_index,
           "LORE_SLACK_API_URL": s.slack.api_url, "LORE_SLACK_BOT_TOKEN": s.slack.bot_token,
           "LORE_SLACK_SOURCE_MEMBERS_INDEX": s.slack_source.members_index, "LORE_CACHE_DIR": s.cache_dir,
           "LORE_EMBED_MODEL": s.embed.model, "LORE_LOG_LEVEL": "WARNING"}
    for channel in (HELP, DEV, CORE):
        slack_env.store.remove_space(channel)

    assert main(["channels", "list", "--live"], env) == EXIT_OK
    live = capsys.readouterr().out
    assert f"{CORE}\t#core-team\tprivate" in live and f"{DEV}\t#ubuntu-dev" in live
    assert main(["channels", "add", CORE, "--public"], env) == EXIT_FAILED  # private: members only, always
    assert "is a private channel" in capsys.readouterr().err
    assert main(["channels", "add", "C0NOPE"], env) == EXIT_FAILED  # checked against Slack now, not at a sync
    assert "channel_not_found" in capsys.readouterr().err
    assert main(["channels", "add", DEV, "--public"], env) == EXIT_OK
    assert f"sync --channel {DEV}" in capsys.readouterr().out
    assert main(["channels", "list"], env) == EXIT_OK
    assert f"{DEV}\tenabled, public: every reader\tubuntu-dev" in capsys.readouterr().out

    assert main(["sync", "--channel", DEV], env) == EXIT_OK

    assert capsys.readouterr().out.startswith(f"slack:{DEV}: OK (full)")
    assert slack_env.thread_ids(DEV) <= slack_env.visible(["public"])
    assert main(["status"], env) == EXIT_OK
    status = capsys.readouterr().out
    assert f"slack:{DEV} (public: every reader)\n" in status and "last sync: ok (full)" in status
    assert main(["sync", "--channel", HELP], env) == EXIT_FAILED
    assert f"channel {HELP} is not configured" in capsys.readouterr().err

    assert main(["channels", "remove", DEV], env) == EXIT_OK
    assert "deleted from the index" in capsys.readouterr().out
    assert not slack_env.docs()
