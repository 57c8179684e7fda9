"""The WSGI entry point for production servers: `gunicorn "backend.wsgi:app"`. Settings from LORE_* and .env."""

from __future__ import annotations

import logging

from backend.api import create_app
from backend.settings import Settings

_settings = Settings.from_env()
logging.basicConfig(level=_settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app(_settings)
