"""Lore's API served over real HTTP on a free port, for the macro tests (Forge and Data Center)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from werkzeug.serving import make_server

from backend.api import create_app
from backend.api.services import Services
from backend.settings import Settings


@contextlib.contextmanager
def running_api(settings: Settings, services: dict | None = None, app_out: list | None = None) -> Iterator[str]:
    app = create_app(settings, services=Services(settings, **(services or {})))
    if app_out is not None:
        app_out.append(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        runtime = app.extensions.get("lore_macro")
        if runtime is not None:
            runtime.jobs.close(wait=True)
