"""Lore's web face: `create_app()` builds a Flask app (no app object exists at import time).

    flask --app "backend.api:create_app()" run       # local; settings from LORE_* and .env (pages: /admin, /ask)
    gunicorn "backend.wsgi:app"                      # production
"""

from __future__ import annotations

from flask import Flask

from backend.api import errors
from backend.api.services import Services
from backend.settings import Settings


def create_app(settings: Settings | None = None, *, services: Services | dict | None = None) -> Flask:
    """`settings` default to the environment (this is an entry point); `services` may be a ready `Services`
    or a dict of objects to inject (`{"llm": ..., "searcher": ...}`), the rest built lazily from settings."""
    settings = settings or Settings.from_env()
    if not isinstance(services, Services):
        services = Services(settings, **(services or {}))
    app = Flask(__name__)
    app.json.sort_keys = False  # keep answers in their natural order: text, citations, sources, ...
    app.config["MAX_CONTENT_LENGTH"] = 1 << 20  # 1 MiB: a question with history is a few kB
    app.extensions["lore"] = services
    errors.init_app(app)

    from backend.api import admin, ask, health

    app.register_blueprint(health.bp)
    app.register_blueprint(ask.bp)
    from backend.api import datacenter, forge  # the Confluence macros (Cloud via Forge Remote, Data Center)

    forge.init_app(app)
    datacenter.init_app(app)
    admin.init_app(app, settings)
    from backend import web  # the admin and ask pages (HTML), beside the JSON API

    web.init_app(app, settings, services)
    return app
