"""The Data Center user macro (manifests/datacenter/ask-lore.vm) posts its search box here; answers show in its iframe.

    POST /dc/ask          form: user, ts, sig, question, space?  -> 303 to the answer page
    GET  /dc/jobs/<id>?t=  the answer page: refreshes itself until the answer is written, then shows it

Confluence renders the macro for the viewing user and signs `user + "\n" + ts` with the instance's shared secret
(HMAC-SHA256, LORE_MACRO_DC_SHARED_SECRET); a signature older than LORE_MACRO_DC_MAX_AGE_SECONDS is refused.
The answer page's `t` is our own HMAC over the job id and its asker, so only the asker's frame can read it.
Plain HTML forms and a meta refresh: no script, no CORS, nothing for Confluence's page to load from us.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for

from backend.api.macro import parse_spaces, runtime
from backend.askjobs import DONE, FAILED, NoSuchJob, owner_of
from backend.errors import LoreError, NotAllowed

bp = Blueprint("datacenter", __name__, url_prefix="/dc", template_folder="templates")

MAX_USER_CHARS = 255  # Confluence's limit on a user name
FUTURE_SKEW_SECONDS = 60  # a Confluence node's clock may run a little ahead of ours
REFRESH_SECONDS = 2  # the answer page reloads this often while the answer is being written


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def signature(secret: str, user: str, ts: str) -> str:
    """What the macro template computes: hex HMAC-SHA256 over `user`, a newline, and the Unix time `ts`."""
    return hmac.new(secret.encode(), f"{user}\n{ts}".encode(), hashlib.sha256).hexdigest()


def verify_viewer(secret: str, max_age: int, user: str, ts: str, sig: str, now: float | None = None) -> str:
    """The signed viewer's user name, or NotAllowed: no secret configured, bad or old signature."""
    if not secret:
        raise NotAllowed("The Data Center macro is not set up on this Lore server: set LORE_MACRO_DC_SHARED_SECRET.")
    user = (user or "").strip()
    if not user or len(user) > MAX_USER_CHARS or not ts.isdigit() or not sig:
        raise NotAllowed("This search box was not signed by Confluence: reload the page.")
    if not hmac.compare_digest(signature(secret, user, ts).encode(), sig.strip().lower().encode()):
        raise NotAllowed("This search box was not signed by Confluence: reload the page.")
    age = (time.time() if now is None else now) - int(ts)
    if age > max_age or age < -FUTURE_SKEW_SECONDS:
        raise NotAllowed("This page was opened too long ago: reload it and ask again.")
    return user


def _settings():
    return current_app.extensions["lore"].settings.macro


def _job_token(job_id: str, owner: str) -> str:
    secret = _settings().dc_shared_secret
    return hmac.new(secret.encode(), f"job\n{job_id}\n{owner}".encode(), hashlib.sha256).hexdigest()


@bp.post("/ask")
def ask():
    s = _settings()
    form = request.form
    user = verify_viewer(s.dc_shared_secret, s.dc_max_age_seconds, form.get("user", ""), form.get("ts", ""),
                         form.get("sig", ""))
    question = form.get("question", "")
    spaces = parse_spaces(form.get("space") or None)
    rt = runtime()
    identities = rt.services.identity.resolve_username(user)
    owner = owner_of("dc", user.lower())
    job_id = rt.start_answer(owner, question, identities, spaces, user=user, channel=",".join(spaces),
                             surface="confluence-dc")
    return redirect(url_for("datacenter.answer", job_id=job_id, u=user, t=_job_token(job_id, owner)), code=303)


@bp.get("/jobs/<job_id>")
def answer(job_id: str):
    owner = owner_of("dc", request.args.get("u", "").strip().lower())
    given = request.args.get("t", "")
    if not _settings().dc_shared_secret or not hmac.compare_digest(_job_token(job_id, owner).encode(),
                                                                   given.encode()):
        raise NoSuchJob()
    job = runtime().jobs.get(owner, job_id)
    html = render_template("datacenter/answer.html", job=job, done=job["state"] == DONE,
                           failed=job["state"] == FAILED, refresh=REFRESH_SECONDS)
    return html, 200, {"Cache-Control": "no-store"}


@bp.errorhandler(LoreError)
def _error_page(exc: LoreError):
    """Errors inside the macro's frame are a small page, not the API's JSON."""
    html = render_template("datacenter/answer.html", job=None, error=exc.message, done=False, failed=True,
                           refresh=0)
    return html, exc.http_status, {"Cache-Control": "no-store"}

