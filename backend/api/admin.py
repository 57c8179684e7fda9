"""Admin endpoints: which Confluence spaces are indexed, where each space's sync stands, what askers thought.

    GET /api/admin/spaces   PUT /api/admin/spaces (a JSON list, or {"spaces": [...]})   GET /api/admin/status
    GET|PUT /api/admin/channels, GET /api/admin/channels/available: Slack channels (backend/api/channels.py)
    GET /api/admin/feedback?size=20&from=0&since=2026-11-01T00:00:00Z
        helpful / not-helpful votes (newest first, each with its question, answer, sources, asker, voter,
        channel and time) plus `total`, `helpful`, `not_helpful` and `helpful_rate` (helpful / all votes,
        null with no votes) over the window `since` (default: all time); `size` 1-100 (20), `from` to page.
    GET /api/admin/jobs     minutes jobs, newest first: state, progress, stage, reason, minutes page link

A space left out of a PUT is purged from the index, and a space marked `enabled: false` is hidden from every
reader, before the configuration changes: neither waits for a sync (backend/visibility.py).

Every call needs `Authorization: Bearer <LORE_API_ADMIN_TOKEN>`; with no admin token configured the
endpoints answer 503 rather than run open. The app factory calls `init_app(app, settings)`.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from backend.errors import BadRequest, LoreError, NotAllowed
from backend.feedback import FeedbackQuery, FeedbackStore
from backend.settings import Settings
from backend.spaces import SpaceConfig, SpaceStore
from backend.visibility import hidden_count, hide_space, purge_space

log = logging.getLogger(__name__)

admin_bp = Blueprint("lore_admin", __name__, url_prefix="/api/admin")
EXTENSION = "lore_admin"
MAX_SPACES = 500  # a PUT with more spaces than this is a mistake (or an attack), not a configuration


@dataclass
class _Admin:
    settings: Settings
    store: SpaceStore | None = None
    votes: FeedbackStore | None = None

    def spaces(self) -> SpaceStore:
        if self.store is None:  # connect lazily: the app starts even while Elasticsearch is still coming up
            from backend.es import connect

            self.store = SpaceStore(connect(self.settings.es, check=False), self.settings.es)
        return self.store

    def feedback(self) -> FeedbackStore:
        if self.votes is None:
            self.votes = FeedbackStore(self.spaces().es, self.settings.es)
        return self.votes


def init_app(app: Flask, settings: Settings, store: SpaceStore | None = None) -> None:
    """Register the admin blueprint with what it needs (a store is built from `settings` on first use)."""
    app.extensions[EXTENSION] = _Admin(settings, store)
    if admin_bp.name not in app.blueprints:
        app.register_blueprint(admin_bp)
    from backend.api import channels  # Slack channels as a source: /api/admin/channels, same token

    if channels.bp.name not in app.blueprints:
        app.register_blueprint(channels.bp)


def _admin() -> _Admin | None:
    return current_app.extensions.get(EXTENSION)


def _error(status: int, code: str, message: str) -> Response:
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


@admin_bp.before_request
def _require_admin_token() -> Response | None:
    admin = _admin()
    if admin is None:
        return _error(503, "admin_not_configured", "The admin API was registered without its settings: the app "
                      "factory must call backend.api.admin.init_app(app, settings).")
    expected = admin.settings.api.admin_token
    if not expected:
        return _error(503, "admin_disabled", "The admin API is off because no admin token is configured: set "
                      "LORE_API_ADMIN_TOKEN and restart the backend.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken must not tell how much of a guessed token was right
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        resp = _error(NotAllowed.http_status, NotAllowed.code,
                      "Admin token missing or wrong: send `Authorization: Bearer <LORE_API_ADMIN_TOKEN>`.")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="lore-admin"'
        return resp
    return None


@admin_bp.errorhandler(LoreError)
def _lore_error(exc: LoreError) -> Response:
    if exc.http_status >= 500:
        log.warning("admin request failed: %s", exc.message)
    resp = jsonify({"error": exc.to_dict()})
    resp.status_code = exc.http_status
    return resp


@admin_bp.get("/spaces")
def list_spaces() -> Response:
    return jsonify({"spaces": [s.to_dict() for s in _admin().spaces().list_spaces()]})


@admin_bp.put("/spaces")
def put_spaces() -> Response:
    body = request.get_json(silent=True)
    items = body.get("spaces") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise BadRequest('Send the spaces as a JSON list, or as {"spaces": [...]}: each a key or '
                         '{"key", "enabled", "unrestricted_only", "name"}.')
    if len(items) > MAX_SPACES:
        raise BadRequest(f"{len(items)} spaces is more than the {MAX_SPACES} this endpoint accepts at once.")
    spaces = [SpaceConfig.parse(item) for item in items]
    keys = [s.key for s in spaces]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise BadRequest(f"Space(s) listed twice: {', '.join(duplicates)}.")
    admin = _admin()
    return jsonify(apply_spaces(admin.spaces(), admin.settings, spaces))


def apply_spaces(store: SpaceStore, settings: Settings, spaces: list[SpaceConfig]) -> dict:
    """Make `spaces` the indexed set (also the admin pages' Save): purge the dropped, hide the disabled, save."""
    keys = [s.key for s in spaces]
    before = {s.key: s for s in store.list_spaces()}
    # first out of sight, then out of the configuration: if the index fails halfway, the PUT fails and can be
    # repeated, instead of leaving a space unconfigured but still searchable
    purged = {key: purge_space(store.es, settings, key) for key in before if key not in keys}
    hidden = {s.key: len(hide_space(store.es, settings, s.key)) for s in spaces if not s.enabled}
    saved = store.replace_spaces(spaces)
    log.info("indexed spaces replaced", extra={"spaces": keys, "purged": purged, "hidden": hidden})
    return {"spaces": [s.to_dict() for s in saved], "purged_chunks": purged, "hidden_documents": hidden}


@admin_bp.get("/status")
def status() -> Response:
    admin = _admin()
    store = admin.spaces()
    rows = store.status()
    for row in rows:  # what readers cannot see right now, whatever sync hid it (lifted on the next sync)
        row["hidden_documents"] = hidden_count(store.es, admin.settings, row["key"])
    return jsonify({"spaces": rows})


@admin_bp.get("/feedback")
def feedback() -> Response:
    query = FeedbackQuery.parse(request.args)
    return jsonify(_admin().feedback().report(query))


@admin_bp.get("/jobs")
def jobs() -> Response:
    """Minutes jobs (backend/minutes/status.py): state, progress, stage, reason and the minutes page link."""
    from backend.minutes.status import list_jobs

    return jsonify({"jobs": list_jobs(_admin().settings)})
