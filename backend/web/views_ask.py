"""The ask page: for people without Slack or the macro. Signed in as a user (the demo's pick-a-user today, the same
Authenticator seam as the admin sign-in), they ask, and the answer streams in as the model writes it, from the
pages they may read (their email -> Confluence account and groups, as the API and the bot resolve it).

    GET  /ask                the question box (or the sign-in)
    POST /ask/stream         {"question"} with the X-CSRF-Token header -> Server-Sent Events, as POST /api/ask
"""

from __future__ import annotations

import logging

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from backend.api.ask import sse_stream
from backend.errors import BadRequest, LoreError
from backend.web import EXTENSION, bp
from backend.web.auth import SignInRefused, sign_in, sign_out, signed_in

log = logging.getLogger(__name__)


def _ctx():
    return current_app.extensions[EXTENSION]


def _user():
    return signed_in("user", _ctx().authenticators["user"])


@bp.get("/ask", endpoint="ask")
def ask_page():
    auth = _ctx().authenticators["user"]
    user = _user()
    if user is None:
        return render_template("ask_sign_in.html", title="Sign in to ask", unavailable=auth.unavailable(),
                               users=getattr(auth, "emails", []), error=None)
    return render_template("ask.html", title="Ask Lore", user=user)


@bp.post("/ask/sign-in", endpoint="ask_sign_in")
def ask_sign_in():
    auth = _ctx().authenticators["user"]
    try:
        sign_in(auth.authenticate(request.form), auth)
    except SignInRefused as exc:
        return render_template("ask_sign_in.html", title="Sign in to ask", unavailable=auth.unavailable(),
                               users=getattr(auth, "emails", []), error=exc.message), 401
    return redirect(url_for("web.ask"))


@bp.post("/ask/sign-out", endpoint="ask_sign_out")
def ask_sign_out() -> Response:
    sign_out("user")
    flash("You are signed out.")
    return redirect(url_for("web.ask"))


@bp.post("/ask/stream", endpoint="ask_stream")
def ask_stream():
    user = _user()
    if user is None:
        return _error(401, "not_signed_in", "Your session has ended: sign in again to ask.")
    body = request.get_json(silent=True)
    question = body.get("question") if isinstance(body, dict) else None
    try:
        if not isinstance(question, str):
            raise BadRequest("Type a question first.")
        svc = _ctx().services
        answerer = svc.answerer
        answerer.check_question(question)  # an empty question is refused before the stream starts
        identities = svc.identity.resolve(user.subject)
    except LoreError as exc:
        return _error(exc.http_status, exc.code, exc.message)
    events = answerer.ask_stream(question, identities)
    stream = sse_stream(events, svc.settings.api.sse_keepalive_seconds)
    # proxies must not buffer the stream, and nobody should cache one person's answer
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(stream), mimetype="text/event-stream", headers=headers)


def _error(status: int, code: str, message: str) -> Response:
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp
