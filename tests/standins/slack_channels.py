"""Channels for the Slack stand-in: history, threads, members, edits and deletes, served the way slack.com does.

    channels = ChannelState()                      # SlackState(channels=...) serves it (tests/standins/slack_app.py)
    seed = seed_channels(slack_state, shared_data / "chat" / "ubuntu-irc-dev-threads.jsonl")

Every list (conversations.list / history / members) is paged by cursor with a small default page (`page_cap`),
as slack.com caps pages: a client that stops after page one misses most of a channel. History is newest first,
thread roots carry `reply_count` and `latest_reply`; an edited message carries `edited`; a deleted root with
replies becomes a `tombstone`, as on Slack.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WORKSPACE_URL = "https://lore-standin.slack.com/"
PAGE_CAP = 15  # messages, channels or members per page unless the caller asks for fewer: forces paging


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    members: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)  # roots, replies and notices, in posting order


@dataclass
class ChannelState:
    channels: dict[str, Channel] = field(default_factory=dict)
    page_cap: int = PAGE_CAP
    bot_user: str = "U0LOREBOT"
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ---- changing the workspace -----------------------------------------------------------------

    def add_channel(self, channel_id: str, name: str, private: bool = False, members: list[str] = ()) -> Channel:
        with self.lock:
            ch = Channel(channel_id, name, private, [*members, self.bot_user])
            self.channels[channel_id] = ch
            return ch

    def post(self, channel: str, user: str, text: str, ts: str | None = None, thread_ts: str | None = None,
             **extra: Any) -> dict:
        """A message as Slack stores it (`text` already Slack-escaped); `extra` adds subtype, bot_id, user_profile."""
        with self.lock:
            ts = ts or f"{time.time():.6f}"
            message = {"type": "message", "user": user, "text": text, "ts": ts, **extra}
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.channels[channel].messages.append(message)
            return message

    def edit(self, channel: str, ts: str, text: str) -> dict:
        with self.lock:
            message = self._find(channel, ts)
            message["text"] = text
            message["edited"] = {"user": message.get("user", ""), "ts": f"{time.time():.6f}"}
            return message

    def delete(self, channel: str, ts: str) -> None:
        """Delete a message; a root that has replies stays as a tombstone (Slack's "This message was deleted.")."""
        with self.lock:
            ch = self.channels[channel]
            message = self._find(channel, ts)
            if message.get("thread_ts", ts) == ts and self._replies_of(ch, ts):
                message.clear()
                message.update({"type": "message", "subtype": "tombstone", "text": "This message was deleted.",
                                "ts": ts, "thread_ts": ts, "hidden": True, "user": "USLACKBOT"})
            else:
                ch.messages.remove(message)

    def set_members(self, channel: str, members: list[str]) -> None:
        with self.lock:
            self.channels[channel].members = [*members, self.bot_user]

    # ---- what the Web API shows -----------------------------------------------------------------

    def history(self, channel: str) -> list[dict]:
        """Top-level messages, newest first, roots with their thread summary."""
        with self.lock:
            ch = self.channels[channel]
            out = []
            for m in ch.messages:
                if m.get("thread_ts") not in (None, m["ts"]) and m.get("subtype") != "thread_broadcast":
                    continue
                replies = self._replies_of(ch, m["ts"])
                row = dict(m)
                if replies:
                    row.update({"thread_ts": m["ts"], "reply_count": len(replies),
                                "reply_users": sorted({r.get("user", "") for r in replies})[:5],
                                "latest_reply": max(replies, key=lambda r: float(r["ts"]))["ts"]})
                out.append(row)
            return sorted(out, key=lambda m: float(m["ts"]), reverse=True)

    def thread(self, channel: str, ts: str) -> list[dict]:
        with self.lock:
            ch = self.channels.get(channel)
            if ch is None:
                return []
            root = next((m for m in ch.messages if m["ts"] == ts), None)
            if root is None:
                return []
            replies = self._replies_of(ch, ts)
            head = dict(root)
            if replies:
                head.update({"thread_ts": ts, "reply_count": len(replies),
                             "latest_reply": max(replies, key=lambda r: float(r["ts"]))["ts"]})
            return [head, *sorted((dict(r) for r in replies), key=lambda r: float(r["ts"]))]

    def visible_to_bot(self, channel: str) -> Channel | None:
        with self.lock:
            ch = self.channels.get(channel)
            if ch is None or (ch.is_private and self.bot_user not in ch.members):
                return None
            return ch

    @staticmethod
    def _replies_of(ch: Channel, ts: str) -> list[dict]:
        return [m for m in ch.messages if m.get("thread_ts") == ts and m["ts"] != ts]

    def _find(self, channel: str, ts: str) -> dict:
        return next(m for m in self.channels[channel].messages if m["ts"] == ts)


# ---- the Web API methods ------------------------------------------------------------------------

METHODS = ("conversations.list", "conversations.info", "conversations.history", "conversations.members",
           "chat.getPermalink")


def _page(items: list, args: dict[str, Any], cap: int, key: str) -> dict:
    limit = max(1, min(int(args.get("limit") or 100), cap))  # Slack's default page is 100; ours is capped small
    start = int(args.get("cursor") or 0)
    page = items[start:start + limit]
    more = start + limit < len(items)
    return {"ok": True, key: page, "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def _info(ch: Channel, bot_user: str) -> dict:
    return {"id": ch.id, "name": ch.name, "is_channel": True, "is_private": ch.is_private, "is_archived": False,
            "is_member": bot_user in ch.members, "num_members": len(ch.members)}


def call(state: ChannelState, method: str, args: dict[str, Any]) -> dict:
    """Answer one of METHODS as slack.com would (the token was checked by the caller)."""
    if method == "conversations.list":
        types = (args.get("types") or "public_channel").split(",")
        with state.lock:
            chans = [_info(c, state.bot_user) for c in state.channels.values()
                     if ("private_channel" if c.is_private else "public_channel") in types
                     and (not c.is_private or state.bot_user in c.members)]
        return _page(sorted(chans, key=lambda c: c["name"]), args, state.page_cap, "channels")
    ch = state.visible_to_bot(args.get("channel", ""))
    if ch is None:
        return {"ok": False, "error": "channel_not_found"}
    if method == "conversations.info":
        return {"ok": True, "channel": _info(ch, state.bot_user)}
    if method == "conversations.members":
        return _page(list(ch.members), args, state.page_cap, "members")
    if method == "chat.getPermalink":
        ts = args.get("message_ts", "")
        if not any(m["ts"] == ts for m in ch.messages):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": ch.id, "permalink": f"{WORKSPACE_URL}archives/{ch.id}/p{ts.replace('.', '')}"}
    # conversations.history
    if state.bot_user not in ch.members:
        return {"ok": False, "error": "not_in_channel"}
    rows = state.history(ch.id)
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
    rows = [m for m in rows if oldest < float(m["ts"]) < latest]
    return _page(rows, args, state.page_cap, "messages")


# ---- seeding from the shared IRC threads --------------------------------------------------------

HELP, DEV, CORE = "C0HELP", "C0DEV", "C0CORE"
BUILD_BOT = "B0BUILDS"
_ADDRESS = re.compile(r"^([^\s:,]+)[:,]\s*")


@dataclass
class ChannelSeed:
    threads: dict[str, list[tuple[str, list[str]]]]  # channel -> [(root ts, [reply ts...])], oldest first
    users: dict[str, str]  # IRC nick -> Slack user id
    texts: dict[str, str]  # root ts -> the root's original (unescaped) text
    bot_root: str  # ts of a build bot's root message (no replies): never indexed
    lore_reply: tuple[str, str]  # (channel, ts) of a reply Lore's bot posted in a thread: never indexed


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def seed_channels(slack: Any, path: Path, limit: int | None = None, core_members: tuple[str, ...] = ("U0ALICE",),
                  now: float | None = None) -> ChannelSeed:
    """Load the IRC threads into #ubuntu-help (public), #ubuntu-dev (public) and #core-team (private, members
    `core_members`): 3 of every 5 threads to help, then dev, then core. Times keep their order and gaps, shifted
    so the newest message is two hours old. Nicks become Slack users (with emails, every fifth hidden);
    an addressed line ("nick: ...") becomes a mention. Join notices, a build bot's message and a reply by
    Lore's bot are added: none of them may reach the index."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[:limit] if limit else rows
    state: ChannelState = slack.channels
    nicks = sorted({m["user"] for r in rows for m in r["messages"]})
    users = {nick: f"U0IRC{i:03d}" for i, nick in enumerate(nicks)}
    for i, nick in enumerate(nicks):
        slack.add_user(users[nick], nick, nick, None if i % 5 == 4 else f"{nick.lower()}@ubuntu.example")
    times = [_times(r) for r in rows]
    shift = (now or time.time()) - 7200 - max(max(ts) for ts in times)
    state.add_channel(HELP, "ubuntu-help")
    state.add_channel(DEV, "ubuntu-dev")
    state.add_channel(CORE, "core-team", private=True, members=list(core_members))
    first = min(min(ts) for ts in times) + shift - 3600
    for n, ch in enumerate(state.channels.values()):
        for k, member in enumerate(ch.members):
            state.post(ch.id, member, f"<@{member}> has joined the channel", ts=f"{int(first) + n:d}.{k:06d}",
                       subtype="channel_join")
    seed = ChannelSeed({HELP: [], DEV: [], CORE: []}, users, {}, "", ("", ""))
    posters: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        channel = (HELP, HELP, HELP, DEV, CORE)[i % 5]
        root_ts, replies = "", []
        for m, when in zip(row["messages"], times[i], strict=True):
            ts = f"{int(when + shift)}.{m['idx']:06d}"
            posters.setdefault(channel, set()).add(users[m["user"]])
            text = _mention(m["text"], users)
            if not root_ts:
                root_ts = ts
                state.post(channel, users[m["user"]], text, ts=ts,
                           user_profile={"real_name": m["user"], "display_name": m["user"]})
                seed.texts[ts] = m["text"]
            else:
                state.post(channel, users[m["user"]], text, ts=ts, thread_ts=root_ts)
                replies.append(ts)
        seed.threads[channel].append((root_ts, replies))
    for channel, who in posters.items():  # people who wrote in a channel are in it
        state.set_members(channel, sorted(set(state.channels[channel].members) - {state.bot_user} | who))
    bot_ts = f"{int(first) + 10}.000001"
    state.post(HELP, "", "Nightly build 4711 of the ISO images passed all checks", ts=bot_ts, subtype="bot_message",
               bot_id=BUILD_BOT, username="builds")
    seed.bot_root = bot_ts
    root, _ = next(th for th in seed.threads[HELP] if th[1])
    lore = state.post(HELP, state.bot_user, "Lore here: see the wiki page on quokka packaging",
                      ts=f"{float(root) + 0.5:.6f}", thread_ts=root, bot_id="B0LORE")
    seed.lore_reply = (HELP, lore["ts"])
    return seed


def _times(row: dict) -> list[float]:
    """Epoch seconds of a thread's messages: the file's day and each HH:MM, a day later past midnight."""
    out, day = [], 0.0
    for m in row["messages"]:
        when = _epoch(row["file"], m["time"]) + day
        if out and when < out[-1]:
            day += 86400
            when += 86400
        out.append(when)
    return out


def _epoch(file: str, hhmm: str) -> float:
    day = datetime.strptime(file[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return day.timestamp() + hours * 3600 + minutes * 60


def _mention(text: str, users: dict[str, str]) -> str:
    """IRC's "nick: text" as Slack's "<@U...>: text"; the rest escaped as Slack escapes it."""
    match = _ADDRESS.match(text)
    if match and match.group(1) in users:
        return f"<@{users[match.group(1)]}>: {_escape(text[match.end():])}"
    return _escape(text)
