"""Every error leaves the API as JSON `{"error": {code, message, retryable}}`: no tracebacks, no secrets."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from backend.errors import LoreError

log = logging.getLogger(__name__)

# stable codes for the HTTP errors Flask raises itself (routing, malformed bodies)
HTTP_CODES = {400: "bad_request", 401: "not_allowed", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def error_response(code: str, message: str, status: int, retryable: bool = False):
    resp = jsonify({"error": {"code": code, "message": message, "retryable": retryable}})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="lore"'
    return resp


def init_app(app: Flask) -> None:
    app.register_error_handler(LoreError, _lore)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _lore(exc: LoreError):
    if exc.http_status >= 500:
        log.warning("request failed: %s", exc, extra={"code": exc.code})
    return error_response(exc.code, exc.message, exc.http_status, exc.retryable)


def _http(exc: HTTPException):
    status = exc.code or 500
    message = {
        404: "No such endpoint. The API serves POST /api/ask, GET /api/search, GET /healthz, "
             "GET/PUT /api/admin/spaces, GET /api/admin/status and GET /api/admin/feedback.",
        405: "This endpoint does not accept that HTTP method (see the API's routes: POST /api/ask, GET /api/search).",
    }.get(status, exc.description or exc.name)
    return error_response(HTTP_CODES.get(status, "http_error"), message, status)


def _unexpected(exc: Exception):
    log.exception("unexpected error while handling a request")
    return error_response("internal_error", "Something went wrong on the Lore server; the error was logged. "
                          "Try again, and tell your Lore admin if it keeps happening.", 500)
