"""The Ask Lore macro on Confluence Cloud calls these through Forge Remote (`invokeRemote` in manifests/forge).

    POST /api/forge/ask        {"question", "space"?}   -> 202 {"job_id", "state", "poll_after_ms"}
    GET  /api/forge/jobs/<id>                           -> {"state": queued|running|done|failed, "answer"?, "error"?}
    POST /api/forge/feedback   {"job_id", "vote"}       -> {"recorded": true}

Every call must carry a valid Forge Invocation Token (backend/forge_token.py); its principal is the asker, whose
pages the answer is drawn from. A job is readable, and votable, only by the principal who asked.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, g, jsonify, request

from backend.api.ask import json_body, question_of
from backend.api.macro import parse_spaces, runtime
from backend.askjobs import DONE, NoSuchJob, owner_of
from backend.errors import BadRequest
from backend.feedback import VOTES
from backend.forge_token import ForgeVerifier, Invocation

bp = Blueprint("forge", __name__, url_prefix="/api/forge")
_LOCK = threading.Lock()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _verifier() -> ForgeVerifier:
    with _LOCK:
        verifier = current_app.extensions.get("lore_forge_verifier")
        if verifier is None:
            settings = current_app.extensions["lore"].settings
            verifier = current_app.extensions["lore_forge_verifier"] = ForgeVerifier(settings.macro)
        return verifier


@bp.before_request
def _authenticate() -> None:
    g.forge = _verifier().verify(request.headers.get("Authorization"))


def _invocation() -> Invocation:
    return g.forge


def _owner() -> str:
    inv = _invocation()
    return owner_of("forge", inv.cloud_id or inv.app_id, inv.account_id or "anonymous")


@bp.post("/ask")
def ask():
    body = json_body()
    question = question_of(body)
    spaces = parse_spaces(body.get("space"))
    inv = _invocation()
    rt = runtime()
    identities = rt.services.identity.resolve_account(inv.account_id)
    job_id = rt.start_answer(_owner(), question, identities, spaces, user=inv.account_id or "anonymous",
                             channel=",".join(spaces), surface="confluence")
    resp = jsonify(rt.jobs.get(_owner(), job_id))
    resp.status_code = 202
    return resp


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    return jsonify(runtime().jobs.get(_owner(), job_id))


@bp.post("/feedback")
def feedback():
    body = json_body()
    job_id, vote = body.get("job_id"), body.get("vote")
    if vote not in VOTES:
        raise BadRequest(f'"vote" must be one of {", ".join(VOTES)}.')
    inv = _invocation()
    if not inv.account_id:
        raise BadRequest("Sign in to Confluence to rate answers.")
    rt = runtime()
    if rt.jobs.get(_owner(), job_id)["state"] != DONE:  # someone else's or unknown job: 404, like any other
        raise NoSuchJob()
    if not rt.services.feedback.record_vote(job_id, inv.account_id, vote):
        raise NoSuchJob()
    return jsonify({"recorded": True})
