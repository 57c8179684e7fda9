"""`GET /healthz`: can this instance answer? Elasticsearch down is "down" (503); the LLM down is "degraded"
(200: questions still get the best pages). No token needed, so no URLs or versions in the reply."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from backend.errors import LoreError

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    svc = current_app.extensions["lore"]
    checks = {"elasticsearch": _es(svc), "llm": _llm(svc)}
    if not checks["elasticsearch"]["ok"]:
        status, code = "down", 503
    elif not checks["llm"]["ok"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return jsonify({"status": status, "checks": checks}), code


def _es(svc) -> dict:
    try:
        health = svc.es.cluster.health(timeout="2s")
    except LoreError as exc:
        log.warning("health: %s", exc)
        return {"ok": False, "detail": "not reachable"}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        log.warning("health: Elasticsearch check failed: %s", exc)
        return {"ok": False, "detail": "not reachable"}
    return {"ok": health.get("status") != "red", "detail": f"cluster {health.get('status')}"}


def _llm(svc) -> dict:
    result = svc.llm.health()
    if not result["ok"]:
        log.warning("health: LLM server %s", result["detail"])
    return {"ok": result["ok"], "detail": "reachable" if result["ok"] else "not reachable"}
