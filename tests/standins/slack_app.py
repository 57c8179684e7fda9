"""A Slack Web API stand-in for tests and the demo: a small Flask app serving the calls bot/ makes, with
Slack-shaped payloads, a bot token check, recorded `response_url` posts and injected 429s.

    state = SlackState()                       # the Confluence stand-in's people as Slack users
    with serve(state) as slack:
        settings.slack.api_url = slack.api_url; url = slack.response_url("cmd-1")
        ... state.wait_for_responses("cmd-1", 1)

Routes: `/api/auth.test`, `/api/users.info`, `/api/chat.postMessage`, `/api/views.open`,
`/api/conversations.replies` (GET or POST, form or JSON, like slack.com; replies paged by cursor), the channel
reads of tests/standins/slack_channels.py (`conversations.list|info|history|members`, `chat.getPermalink`), and
`/hooks/<key>` for response_urls (5 posts each, as on Slack); `GET /standin/responses/<key>` reads back what a
response_url received (the demo's view).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.standins import slack_channels
from tests.standins.confluence_seed import USERS as CONFLUENCE_USERS

TEAM_ID = "T0LORE"
BOT_USER_ID = "U0LOREBOT"
BOT_ID = "B0LORE"
BOT_TOKEN = "xoxb-standin-bot-token"
RESPONSE_URL_POSTS = 5  # Slack accepts 5 posts to one response_url (shared/REFERENCE.md)


def slack_id(name: str) -> str:
    """The Slack user id of a Confluence stand-in user: alice -> U0ALICE."""
    return f"U0{name.upper()}"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200


@dataclass
class Fault:
    method: str  # a Web API method, or "response_url"
    count: int
    retry_after: int = 1
    after: int = 0  # calls of `method` answered normally before the first 429 (a 429 mid-listing)


@dataclass
class SlackState:
    bot_token: str = BOT_TOKEN
    users: dict[str, dict] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: dict[str, list[dict]] = field(default_factory=dict)  # response_url key -> JSON bodies posted
    messages: list[dict] = field(default_factory=list)  # chat.postMessage arguments (+ ts, user, bot_id)
    seeded: list[dict] = field(default_factory=list)  # messages people wrote (add_message)
    replies_max_limit: int = 1000  # conversations.replies' page cap (Slack's); tests lower it to force paging
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    channels: slack_channels.ChannelState = field(default_factory=slack_channels.ChannelState)

    def __post_init__(self) -> None:
        if not self.users:
            for name, (_acc, display, email, tz, _groups, visible) in CONFLUENCE_USERS.items():
                # Slack lets people hide their email as Confluence does; dave hides it in both
                self.add_user(slack_id(name), name, display, email if visible else None, tz)
            self.users[BOT_USER_ID] = {"id": BOT_USER_ID, "team_id": TEAM_ID, "name": "lore", "is_bot": True,
                                       "deleted": False, "profile": {"real_name": "Lore", "bot_id": BOT_ID}}

    def add_general(self) -> None:
        """#general (C0GENERAL), where the bot tests mention Lore: everyone, dave (whose email is hidden) too."""
        self.channels.add_channel("C0GENERAL", "general", members=[slack_id(n) for n in CONFLUENCE_USERS])

    def add_user(self, user_id: str, name: str, real_name: str, email: str | None, tz: str = "UTC",
                 deleted: bool = False) -> None:
        profile = {"real_name": real_name, "display_name": name}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "team_id": TEAM_ID, "name": name, "real_name": real_name,
                               "deleted": deleted, "is_bot": False, "tz": tz, "profile": profile}

    def add_message(self, channel: str, user_id: str, text: str, ts: str, thread_ts: str | None = None) -> dict:
        """A message (Slack-escaped `text`), in a thread when `thread_ts` is given; by the bot if `user_id` is
        BOT_USER_ID (as if it had posted it earlier)."""
        message = {"type": "message", "channel": channel, "user": user_id, "text": text, "ts": ts}
        if user_id == BOT_USER_ID:
            message["bot_id"] = BOT_ID
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self.lock:
            self.seeded.append(message)
        return message

    def thread(self, channel: str, thread_ts: str) -> list[dict]:
        """The thread's root and replies, oldest first, as conversations.replies returns them."""
        with self.lock:
            found = [m for m in self.seeded + self.messages if m.get("channel") == channel
                     and (m.get("ts") == thread_ts or m.get("thread_ts") == thread_ts)]
        if not found:  # a thread of a seeded channel (slack_channels)
            return self.channels.thread(channel, thread_ts)
        return sorted(found, key=lambda m: float(m["ts"]))

    def rate_limit(self, method: str, count: int = 1, retry_after: int = 1, after: int = 0) -> None:
        """The next `count` calls of `method` ("users.info", "response_url", ...) get 429 + Retry-After, once
        `after` calls of it have been answered normally."""
        with self.lock:
            self.faults.append(Fault(method, count, retry_after, after))

    def take_fault(self, method: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.method == method and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    def wait_for_responses(self, key: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        """The bodies posted to response_url `key` once there are `count` (fewer after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.responses.get(key, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            return list(self.responses.get(key, []))

    def wait_for_messages(self, thread_ts: str | None, count: int = 1, timeout: float = 30.0,
                          channel: str | None = None) -> list[dict]:
        """chat.postMessage calls in thread `thread_ts` (None: top-level ones), in `channel` if given, once
        there are `count` (fewer after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [m for m in self.messages if m.get("thread_ts") == thread_ts
                         and (channel is None or m.get("channel") == channel)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self.lock.wait(left)

    def calls_of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]


def _args() -> dict[str, Any]:
    args: dict[str, Any] = dict(request.args)
    if request.is_json:
        args.update(request.get_json(silent=True) or {})
    else:
        args.update(request.form)
    return args


def _rate_limited(fault: Fault) -> Response:
    resp = jsonify({"ok": False, "error": "ratelimited"})
    resp.status_code = 429
    resp.headers["Retry-After"] = str(fault.retry_after)
    return resp


def _replies(state: SlackState, args: dict[str, Any]) -> Response:
    thread = state.thread(args.get("channel", ""), args.get("ts", ""))
    if not thread:
        return jsonify({"ok": False, "error": "thread_not_found"})
    limit = max(1, min(int(args.get("limit") or 10), state.replies_max_limit))  # Slack's default page: 10
    start = int(args.get("cursor") or 0)
    page = thread[start : start + limit]
    more = start + limit < len(thread)
    return jsonify({"ok": True, "messages": page, "has_more": more,
                    "response_metadata": {"next_cursor": str(start + limit) if more else ""}})


def create_app(state: SlackState) -> Flask:
    app = Flask("slack-standin", static_folder=None)

    @app.route("/api/<method>", methods=["GET", "POST"])
    def web_api(method: str):
        args = _args()
        call = Call(method, args)
        with state.lock:
            state.calls.append(call)
        fault = state.take_fault(method)
        if fault:
            call.status = 429
            return _rate_limited(fault)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or args.get("token")
        if token != state.bot_token:
            return jsonify({"ok": False, "error": "not_authed" if not token else "invalid_auth"})
        if method == "auth.test":
            return jsonify({"ok": True, "url": slack_channels.WORKSPACE_URL, "team": "Lore Stand-in",
                            "user": "lore", "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                            "is_enterprise_install": False})
        if method == "users.info":
            user = state.users.get(args.get("user", ""))
            return jsonify({"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"})
        if method == "chat.postMessage":
            if not args.get("channel"):
                return jsonify({"ok": False, "error": "channel_not_found"})
            with state.lock:
                ts = f"{time.time():.6f}"
                state.messages.append({**args, "ts": ts, "user": BOT_USER_ID, "bot_id": BOT_ID})
                state.lock.notify_all()
            return jsonify({"ok": True, "channel": args["channel"], "ts": ts,
                            "message": {"type": "message", "text": args.get("text", ""), "ts": ts,
                                        "bot_id": BOT_ID, "user": BOT_USER_ID}})
        if method == "conversations.replies":
            return _replies(state, args)
        if method == "views.open":  # the modal is recorded as a call; Slack answers with the view it opened
            if not args.get("trigger_id"):
                return jsonify({"ok": False, "error": "invalid_arguments"})
            view = json.loads(args["view"]) if isinstance(args.get("view"), str) else args.get("view")
            return jsonify({"ok": True, "view": {**(view or {}), "id": f"V0{len(state.calls):06d}"}})
        if method in slack_channels.METHODS:
            return jsonify(slack_channels.call(state.channels, method, args))
        return jsonify({"ok": False, "error": "unknown_method"})

    @app.post("/hooks/<key>")
    def response_url(key: str):
        call = Call("response_url", {"key": key})
        with state.lock:
            state.calls.append(call)
        fault = state.take_fault("response_url")
        if fault:
            call.status = 429
            return _rate_limited(fault)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            call.status = 400
            return Response("invalid_payload", status=400, mimetype="text/plain")
        with state.lock:
            posted = state.responses.setdefault(key, [])
            if len(posted) >= RESPONSE_URL_POSTS:
                call.status = 404
                return Response("used_url", status=404, mimetype="text/plain")
            posted.append(body)
            state.lock.notify_all()
        return Response("ok", mimetype="text/plain")

    @app.get("/standin/responses/<key>")
    def recorded(key: str):  # not Slack's: what the demo reads back (tests read state.responses directly)
        with state.lock:
            return jsonify(list(state.responses.get(key, [])))

    return app


@dataclass
class StandinServer:
    state: SlackState
    url: str  # http://127.0.0.1:<port>
    _server: Any
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        """What LORE_SLACK_API_URL would be."""
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/hooks/{key}"

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # tests assert on state.calls instead
        pass


def start(state: SlackState, host: str = "127.0.0.1", port: int = 0) -> StandinServer:
    server = make_server(host, port, create_app(state), threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-standin",
                              daemon=True)
    thread.start()
    return StandinServer(state, f"http://{host}:{server.server_port}", server, thread)


@contextmanager
def serve(state: SlackState, host: str = "127.0.0.1", port: int = 0) -> Iterator[StandinServer]:
    server = start(state, host, port)
    try:
        yield server
    finally:
        server.shutdown()


def pretty(body: dict) -> str:
    """A recorded message as indented JSON, for a demo's output or a failing assertion."""
    return json.dumps(body, indent=2, ensure_ascii=False)
