"""The admin pages: sign-in with the admin token, spaces, sync status and buttons, feedback, health, jobs."""

from __future__ import annotations

import functools
import logging
import math

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from backend.errors import LoreError
from backend.web import EXTENSION, bp, data
from backend.web.auth import SignInRefused, sign_in, sign_out, signed_in
from backend.web.channels import channel_choices, channels_from_form
from backend.web.chart import rate_chart
from backend.web.queues import MINUTES_QUEUE
from backend.web.throttle import refusal

log = logging.getLogger(__name__)

NAV = [("web.sync", "Sync status"), ("web.spaces", "Spaces"), ("web.feedback", "Feedback"),
       ("web.health", "Health"), ("web.jobs", "Jobs")]


def ctx():
    return current_app.extensions[EXTENSION]


def admin_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        principal = signed_in("admin", ctx().authenticators["admin"])
        if principal is None:
            if request.path.endswith(".json"):
                return jsonify({"error": {"code": "not_signed_in", "message": "Sign in again."}}), 401
            return redirect(url_for("web.sign_in", next=request.path))
        return view(*args, **kwargs)
    return wrapped


def page(template: str, **values) -> str:
    return render_template(template, nav=NAV, admin=signed_in("admin", ctx().authenticators["admin"]), **values)


@bp.errorhandler(LoreError)
def _lore_error(exc: LoreError):
    if exc.http_status >= 500:
        log.warning("admin page failed: %s", exc.message)
    return page("error.html", message=exc.message, title="Something went wrong"), exc.http_status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = exc.description if status == 400 else {404: "There is no such page.",
                                                      405: "That page does not take this kind of request."}.get(
        status, exc.name)
    return page("error.html", message=message, title=exc.name), status


# ---- sign-in ------------------------------------------------------------------------------------------

@bp.get("/admin")
@bp.get("/admin/")
def home() -> Response:
    return redirect(url_for("web.sync"))


@bp.route("/admin/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    auth, throttle = ctx().authenticators["admin"], ctx().throttle
    error, status, headers = auth.unavailable(), 200, {}
    client = request.remote_addr or "unknown"
    if request.method == "POST" and not error:
        wait_s = throttle.wait_s(client)
        if wait_s:  # refused before the token is even compared: guessing gets nowhere while it lasts
            error, status, headers = refusal(wait_s), 429, {"Retry-After": str(math.ceil(wait_s))}
            log.warning("admin sign-in throttled", extra={"remote": client})
        else:
            try:
                sign_in(auth.authenticate(request.form), auth)
                throttle.succeeded(client)
                return redirect(_safe_next(request.form.get("next")))
            except SignInRefused as exc:
                throttle.failed(client)
                error, status = exc.message, 401
                log.info("admin sign-in refused", extra={"remote": client})
    return page("sign_in.html", title="Sign in", error=error, next=request.values.get("next", "")), status, headers


@bp.post("/admin/sign-out", endpoint="sign_out")
def sign_out_page() -> Response:
    sign_out("admin")
    flash("You are signed out.")
    return redirect(url_for("web.sign_in"))


def _safe_next(target: str | None) -> str:
    # only a path of these pages: never an absolute URL or //host (an open redirect after sign-in)
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.sync")


# ---- spaces -------------------------------------------------------------------------------------------

@bp.get("/admin/spaces")
@admin_required
def spaces():
    rows, error = data.space_choices(ctx())
    channels, channel_error = channel_choices(ctx())
    return page("spaces.html", title="Spaces", rows=rows, error=error, channels=channels,
                channel_error=channel_error, slack_configured=ctx().slack() is not None)


@bp.post("/admin/channels")
@admin_required
def save_channels() -> Response:
    from backend.api.channels import MAX_CHANNELS, apply_channels

    chosen = request.form.getlist("channel")
    if len(chosen) > MAX_CHANNELS:
        flash(f"{len(chosen)} channels is more than the {MAX_CHANNELS} Lore accepts at once.", "error")
        return redirect(url_for("web.spaces") + "#channels")
    names = {k[len("channel-name-"):]: v for k, v in request.form.items() if k.startswith("channel-name-")}
    try:
        channels = channels_from_form(ctx(), chosen, request.form.getlist("public"), names)
    except LoreError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.spaces") + "#channels")
    result = apply_channels(ctx().channels(), ctx().settings, channels)
    purged = [f"#{c}" for c in result["purged_chunks"]]
    message = f"Saved: {len(channels)} Slack channel{'s' if len(channels) != 1 else ''} indexed."
    if purged:
        message += f" Removed from the index: {', '.join(purged)}."
    if channels:
        message += " Start a sync below to index new channels now."
    flash(message)
    return redirect(url_for("web.sync") if channels else url_for("web.spaces") + "#channels")


@bp.post("/admin/spaces")
@admin_required
def save_spaces() -> Response:
    from backend.api.admin import MAX_SPACES, apply_spaces

    chosen = request.form.getlist("index")
    if len(chosen) > MAX_SPACES:
        flash(f"{len(chosen)} spaces is more than the {MAX_SPACES} Lore accepts at once.", "error")
        return redirect(url_for("web.spaces"))
    names = {k[len("name-"):]: v for k, v in request.form.items() if k.startswith("name-")}
    spaces = data.spaces_from_form(ctx(), chosen, request.form.getlist("unrestricted"), names)
    result = apply_spaces(ctx().store(), ctx().settings, spaces)
    purged = list(result["purged_chunks"])
    message = f"Saved: {len(spaces)} space{'s' if len(spaces) != 1 else ''} indexed."
    if purged:
        message += f" Removed from the index: {', '.join(purged)}."
    if spaces:
        message += " Start a sync below to index new spaces now."
    flash(message)
    return redirect(url_for("web.sync") if spaces else url_for("web.spaces"))


# ---- sync ---------------------------------------------------------------------------------------------

@bp.get("/admin/sync")
@admin_required
def sync():
    return page("sync.html", title="Sync status", rows=data.sync_rows(ctx()))


@bp.get("/admin/sync/status.json")
@admin_required
def sync_status() -> Response:
    rows = data.sync_rows(ctx(), details=False)
    return jsonify({"spaces": [{"key": r["key"], "anchor": r["anchor"], "status": r["status"], "job": r["job"],
                                "finished": (r["last"] or {}).get("finished")} for r in rows]})


@bp.post("/admin/sync/<key>")
@admin_required
def start_sync(key: str) -> Response:
    space = ctx().store_for(key).get_space(key)
    what = data.source_label(key, space)
    if space is None or not space.enabled:
        flash(f"{what} is not indexed{'' if space is None else ' (it is disabled)'}: choose it on the "
              "Spaces page first.", "error")
        return redirect(url_for("web.sync"))
    full = request.form.get("mode") == "full"
    try:
        ctx().queues.start_sync(key, full)
        flash(f"{'Full' if full else 'Incremental'} sync of {what.split(' ', 1)[1]} started.")
    except LoreError as exc:
        flash(exc.message, "error")
    return redirect(url_for("web.sync") + f"#{data.anchor(key)}")


# ---- feedback, health, jobs -----------------------------------------------------------------------------

@bp.get("/admin/feedback")
@admin_required
def feedback():
    summary = data.feedback_summary(ctx())
    return page("feedback.html", title="Feedback", summary=summary, chart=rate_chart(summary["days"]))


@bp.get("/admin/health")
@admin_required
def health():
    return page("health.html", title="Health", rows=data.health(ctx()))


@bp.get("/admin/jobs")
@admin_required
def jobs():
    error = None
    try:
        listed = ctx().queues.jobs(MINUTES_QUEUE)
    except LoreError as exc:
        listed, error = [], exc.message
    return page("jobs.html", title="Jobs", queue=MINUTES_QUEUE, jobs=listed, error=error)
