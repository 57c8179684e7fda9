"""The Slack bot running for real in a test: `bot.app.create_app()` on a local port, the Slack stand-in as
its Web API, the Confluence stand-in's people as its directory, the real index as its knowledge.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from werkzeug.serving import make_server

from backend.api.services import Services
from backend.confluence.client import ConfluenceClient
from backend.identity import IdentityResolver
from backend.llm import LLMClient
from backend.settings import Settings, SlackSettings
from bot.app import EVENTS_PATH, create_app
from bot.runtime import SlackBot
from tests.standins import confluence_app, slack_app
from tests.standins.confluence_seed import USERS
from tests.standins.confluence_state import User
from tests.standins.slack_delivery import Delivery

SECRET = "test-signing-secret-8f2c"
BOARD_MEMBER = "alice"  # in the corpus's board group here: may read its restricted page


def settles(condition: Callable[[], bool], within: float = 5.0) -> bool:
    """Whether `condition` holds within `within` seconds. A pool's counters move on its own worker threads, a
    moment after the request that caused them has been answered, so a test reads them this way."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@dataclass
class RunningBot:
    url: str  # http://127.0.0.1:<port>
    bot: SlackBot
    slack: slack_app.StandinServer
    delivery: Delivery  # signs with the right secret and posts to /slack/events

    @property
    def pool(self):
        return self.bot.pool


def confluence_directory() -> confluence_app.ConfluenceState:
    """The Confluence stand-in's people (same emails as the Slack stand-in's); alice also sits on the board."""
    state = confluence_app.ConfluenceState()
    for name, (account, display, email, tz, groups, visible) in USERS.items():
        extra = {"board"} if name == BOARD_MEMBER else set()
        state.add_user(User(account, display, email, tz, set(groups) | extra, visible))
    return state


def bot_settings(base: Settings, slack: slack_app.StandinServer, *, llm_url: str | None = None,
                 **slack_changes) -> Settings:
    s = base
    if llm_url:
        s = replace(s, llm=replace(s.llm, url=llm_url, retries=0))
    values = {"signing_secret": SECRET, "bot_token": slack_app.BOT_TOKEN, "api_url": slack.api_url,
              "timeout": 5.0, "max_retries": 2, **slack_changes}
    return replace(s, slack=SlackSettings(**values))


@contextlib.contextmanager
def running_bot(settings: Settings, slack: slack_app.StandinServer, services: dict) -> Iterator[RunningBot]:
    """Serve the bot over real HTTP on a free port (threaded, like `python -m bot`); stop it afterwards."""
    app = create_app(settings, services=Services(settings, **services))
    bot = app.extensions["lore_slack"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield RunningBot(url, bot, slack, Delivery(url + EVENTS_PATH, SECRET))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        bot.close(wait=True)


def services_for(settings: Settings, *, es, embedder, searcher, directory: confluence_app.StandinServer) -> dict:
    return {"es": es, "embedder": embedder, "searcher": searcher, "llm": LLMClient(settings.llm),
            "identity": IdentityResolver(ConfluenceClient(directory.settings()), 600)}
