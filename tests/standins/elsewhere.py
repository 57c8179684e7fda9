"""A second local origin ("somewhere else" than Confluence) that records every request it gets and answers 200.

Tests point links or redirects at it and assert what reached it, above all that no Authorization header did.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"content served by another origin"


@dataclass
class Elsewhere:
    url: str
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization header)


@contextmanager
def elsewhere() -> Iterator[Elsewhere]:
    record = Elsewhere("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            record.requests.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
