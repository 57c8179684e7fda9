"""Lore's pages for people: the admin pages (/admin) and the ask page (/ask), server-rendered with a little
JavaScript, beside the JSON API (backend/api) in the same app. `backend.api.create_app` calls `init_app`.

    auth.py         who is signed in (Authenticator: the admin token; demo users), CSRF
    throttle.py     refuses an address that sent too many wrong admin tokens, for a while
    views_admin.py  spaces, sync status and buttons, feedback, health, jobs
    views_ask.py    the question box, answers streamed as the model writes them
    data.py         gathers what the admin pages show from the stores, the queues and the services
    channels.py     the Slack channel half of the spaces page (the live list, "readable by everyone")
    queues.py       rq: start a sync by job name, read jobs and their progress
    chart.py        the feedback chart as inline SVG (no script, no CDN: the pages work air-gapped)
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, request

from backend.settings import Settings
from backend.web.auth import AdminTokenAuthenticator, Authenticator, DemoUserAuthenticator, check_csrf, csrf_token
from backend.web.queues import Queues
from backend.web.throttle import SignInThrottle

log = logging.getLogger(__name__)

EXTENSION = "lore_web"
CONFLUENCE_TIMEOUT = 5.0  # seconds per Confluence call a page makes (the space list, the token check)
SLACK_TIMEOUT = 5.0  # seconds per Slack call a page makes (the channel list)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")

# what a page may load: only this server's own styles and scripts (no CDN, no inline script), never framed
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@dataclass
class WebContext:
    """What the pages need, built once per app; Elasticsearch and Confluence clients lazily."""

    settings: Settings
    services: Any  # backend.api.services.Services: es, answerer, identity, llm, embedder...
    queues: Queues
    authenticators: dict[str, Authenticator]
    throttle: SignInThrottle
    _built: dict[str, Any] = field(default_factory=dict)

    def store(self):
        if "store" not in self._built:
            from backend.spaces import SpaceStore

            self._built["store"] = SpaceStore(self.services.es, self.settings.es)
        return self._built["store"]

    def channels(self):
        """The configured Slack channels (keys `slack:<C>`), with the spaces' state and status machinery."""
        if "channels" not in self._built:
            from backend.channel_config import ChannelStore

            self._built["channels"] = ChannelStore(self.services.es, self.settings.es)
        return self._built["channels"]

    def store_for(self, key: str):
        """The store that configures `key`: the channels' for `slack:<C>`, else the spaces'."""
        from backend.channel_config import KEY_PREFIX

        return self.channels() if key.startswith(KEY_PREFIX) else self.store()

    def slack(self):
        """A Slack client with a short timeout and one retry (a page is waiting), or None without a bot token."""
        if "slack" not in self._built:
            client = None
            if self.settings.slack.bot_token:
                from backend.slack.client import SlackChannels

                client = SlackChannels(replace(self.settings.slack, timeout=SLACK_TIMEOUT),
                                       replace(self.settings.slack_source, max_retries=1))
            self._built["slack"] = client
        return self._built["slack"]

    def feedback(self):
        return self.services.feedback

    def confluence(self):
        """A Confluence client with short timeouts (a page is waiting), or None when none is configured."""
        if "confluence" not in self._built:
            client = None
            if self.settings.confluence.url:
                from backend.confluence.client import ConfluenceClient

                client = ConfluenceClient(replace(self.settings.confluence, timeout=CONFLUENCE_TIMEOUT,
                                                  max_retries=1))
            self._built["confluence"] = client
        return self._built["confluence"]


def init_app(app: Flask, settings: Settings, services: Any) -> None:
    """Register the pages: signed session cookies, the blueprint and its context."""
    web = settings.web
    # a random key per process when none is set: sessions then end with the process (documented in .env.example)
    app.secret_key = web.secret_key or secrets.token_hex(32)
    if not web.secret_key:
        log.info("LORE_WEB_SECRET_KEY is not set: page sign-ins last until this process restarts (set it when "
                 "several workers serve the pages)")
    app.config.update(SESSION_COOKIE_NAME="lore_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=web.cookie_secure,
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=web.session_hours))
    app.extensions[EXTENSION] = WebContext(
        settings, services, Queues(settings.redis_url, web.sync_queue),
        {"admin": AdminTokenAuthenticator(settings.api.admin_token), "user": DemoUserAuthenticator(web.demo_users)},
        SignInThrottle(web.sign_in_attempts, web.sign_in_lockout_minutes * 60))
    from backend.web import views_admin, views_ask  # noqa: F401 - their routes attach to `bp`

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)


@bp.before_request
def _csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request.form, request.headers)


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(bp.static_url_path or "/static/web"):
        resp.headers.setdefault("Cache-Control", "no-store")  # pages show live state and are per person
    return resp


@bp.app_context_processor
def _template_globals() -> dict:
    return {"csrf_token": csrf_token}


@bp.app_template_filter("when")
def _when(value) -> str:
    from backend.web.data import when

    return when(value)
