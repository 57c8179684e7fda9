"""What the admin pages show, gathered from the space store, the queues, the feedback index and the services.

Each function returns plain dicts for a template (and for the JSON the sync page polls). A service that is down
becomes a message on the page, not an error page: the admin is usually here because something is down.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from backend.errors import LoreError, redact_url
from backend.spaces import SpaceConfig

log = logging.getLogger(__name__)

SKIPS_SHOWN = 50  # skipped items listed per space (the stored report keeps up to 200; counts stay exact)
WORST_SHOWN = 5
CHART_DAYS = 30
TOKEN_WARN_DAYS = 14  # the health page warns this long before the Confluence token expires
PHASES = {"starting": "Starting", "listing": "Listing the {noun}", "indexing": "Indexing {unit}",
          "permissions": "Re-reading permissions", "pruning": "Removing deleted content", "done": "Done"}
CHANNEL_PREFIX = "slack:"  # backend/channel_config.py KEY_PREFIX: a Slack channel's key beside the spaces'


# ---- spaces -------------------------------------------------------------------------------------------

def space_choices(ctx) -> tuple[list[dict], str | None]:
    """Rows for the spaces form (the live Confluence list, plus configured spaces it lacks) and an error text."""
    configured = {s.key: s for s in ctx.store().list_spaces()}
    live: dict[str, dict] = {}
    error = None
    client = ctx.confluence()
    if client is None:
        error = "No Confluence is configured (LORE_CONFLUENCE_URL), so only the configured spaces are listed."
    else:
        try:
            live = {s["key"]: s for s in client.spaces()}
        except LoreError as exc:
            error = f"The list of Confluence spaces could not be read: {exc.message}"
    rows = []
    for key in sorted(set(live) | set(configured), key=str.lower):
        space = configured.get(key)
        rows.append({"key": key, "name": (live.get(key) or {}).get("name") or (space.name if space else ""),
                     "personal": key.startswith("~"), "in_confluence": key in live, "indexed": space is not None,
                     "unrestricted_only": bool(space and space.unrestricted_only),
                     "enabled": space.enabled if space else True})
    return rows, error


def spaces_from_form(ctx, chosen: list[str], unrestricted: list[str], names: dict[str, str]) -> list[SpaceConfig]:
    """The spaces to index after a Save: the ticked keys; the rest of each configuration is kept."""
    configured = {s.key: s for s in ctx.store().list_spaces()}
    out = []
    for key in dict.fromkeys(chosen):
        old = configured.get(key)
        out.append(SpaceConfig.parse({"key": key, "unrestricted_only": key in unrestricted,
                                      "enabled": old.enabled if old else True,
                                      "name": (old.name if old and old.name else names.get(key, ""))[:200]}))
    return out


# ---- sync status ----------------------------------------------------------------------------------------

def anchor(key: str) -> str:
    """The HTML id of a space's (or channel's) card: `space-TOC`, `space-slack-C0123` (no colon in a CSS id)."""
    return "space-" + key.replace(":", "-")


def source_label(key: str, config=None) -> str:
    """How the pages name a space or channel: `Space TOC`, `Channel #general` (its id before its name is known)."""
    if key.startswith(CHANNEL_PREFIX):
        return f"Channel #{(config.name if config is not None and config.name else key[len(CHANNEL_PREFIX):])}"
    return f"Space {key}"


def sync_rows(ctx, details: bool = True) -> list[dict]:
    """Per configured space, then per configured Slack channel: its job (progress), where its sync stands, the last
    report, what comes next. `details=False` (the page's poll, every 1.5 s) leaves out the hidden-document count."""
    from backend.visibility import hidden_count

    store = ctx.store()
    rows = [(r, "space") for r in store.status()] + [(r, "channel") for r in ctx.channels().status()]
    try:
        jobs = ctx.queues.sync_jobs([r["key"] for r, _ in rows])
        queue_error = None
    except LoreError as exc:
        jobs, queue_error = {}, exc.message
    out = []
    for row, kind in rows:
        state = row["state"]
        report = state.get("last_report") or {}
        job = jobs.get(row["key"])
        unit = "threads" if kind == "channel" else "pages"
        out.append({
            "key": row["key"], "name": row["name"], "enabled": row["enabled"], "kind": kind, "unit": unit,
            "anchor": anchor(row["key"]), "channel": row["key"].removeprefix(CHANNEL_PREFIX),
            "public": bool(row.get("public")),
            "unrestricted_only": bool(row.get("unrestricted_only")) and kind == "space",
            "job": job.to_dict() if job else None,
            "status": _status(state, job, kind),
            "running_elsewhere": bool(state["running"] and not (job and job.active)),
            "lock": row.get("lock"),
            "last": _last_run(state, report),
            "skips": (report.get("skipped") or [])[:SKIPS_SHOWN],
            "skip_count": report.get("skipped_count", 0),
            "skip_reasons": report.get("skip_reasons") or {},
            "errors": (report.get("errors") or [])[:SKIPS_SHOWN],
            "last_error": state.get("last_error"),
            "hidden_documents": hidden_count(store.es, ctx.settings, row["key"],
                                             "slack" if kind == "channel" else "confluence") if details else None,
            "next": _next_run(ctx, state),
            "queue_error": queue_error,
        })
    return out


def _status(state: dict, job, kind: str = "space") -> dict:
    """A label and, while a job runs, its progress: {label, tone, phase, done, total, unit}."""
    status = _status_of(state, job, kind)
    status["unit"] = "threads" if kind == "channel" else "pages"
    return status


def _status_of(state: dict, job, kind: str) -> dict:
    if job is not None and job.active:
        p = job.progress
        if job.state != "started" or not p:
            return {"label": "Waiting for a worker", "tone": "info", "done": 0, "total": 0,
                    "phase": "queued"}
        phase = p.get("phase", "")
        label = PHASES.get(phase, phase.capitalize()).format(noun=kind, unit="threads" if kind == "channel"
                                                             else "pages")
        return {"label": label, "tone": "info", "phase": phase,
                "done": p.get("done", 0), "total": p.get("total", 0)}
    if state["running"]:
        return {"label": "Running (started outside this page)", "tone": "info", "phase": "running", "done": 0,
                "total": 0}
    if job is not None and job.state == "failed":
        return {"label": "Failed", "tone": "bad", "phase": "failed", "done": 0, "total": 0}
    if state["interrupted"]:
        return {"label": "Interrupted: the next sync resumes it", "tone": "warn", "phase": "interrupted",
                "done": 0, "total": 0}
    if job is not None and job.state == "finished":
        p = job.progress
        return {"label": "Done", "tone": "good", "phase": "done", "done": p.get("done", 0),
                "total": p.get("total", 0)}
    if not state.get("finished"):
        return {"label": "Never synced", "tone": "warn", "phase": "never", "done": 0, "total": 0}
    return {"label": "Idle", "tone": "good", "phase": "idle", "done": 0, "total": 0}


def _last_run(state: dict, report: dict) -> dict | None:
    if not report:
        return None
    return {"status": report.get("status"), "mode": report.get("mode"), "finished": state.get("finished"),
            "duration_s": report.get("duration_s"), "pages": report.get("pages"), "total": report.get("total"),
            "counts": {k: report.get(k, 0) for k in ("added", "updated", "unchanged", "deleted",
                                                      "permissions_updated")},
            "skipped": report.get("skipped_count", 0), "errors": report.get("errors_count", 0)}


def _next_run(ctx, state: dict) -> dict:
    """Lore has no scheduler: say so, and say whether the next sync will be a full or an incremental one."""
    hours = ctx.settings.confluence.full_sync_hours
    if not state.get("last_modified") or not state.get("last_full"):
        return {"kind": "full", "why": "nothing is indexed from a complete pass yet"}
    due = datetime.fromisoformat(state["last_full"]) + timedelta(hours=hours)
    if due <= datetime.now(UTC):
        return {"kind": "full", "why": "the daily full pass is due"}
    return {"kind": "incremental", "why": "", "full_due": due.isoformat(timespec="seconds")}


def when(value: str | None) -> str:
    """An ISO time as people read it on the pages: `2026-11-29 19:09 UTC`."""
    if not value:
        return ""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M") + (" UTC" if t.tzinfo is not None else "")


# ---- feedback -------------------------------------------------------------------------------------------

def feedback_summary(ctx) -> dict:
    store = ctx.feedback()
    report = store.report()
    return {"total": report["total"], "helpful": report["helpful"], "not_helpful": report["not_helpful"],
            "rate": report["helpful_rate"], "days": store.daily(CHART_DAYS), "worst": store.worst(WORST_SHOWN),
            "recent": report["feedback"][:10]}


# ---- health ---------------------------------------------------------------------------------------------

def health(ctx) -> list[dict]:
    """One row per service: {name, ok, detail, facts: [(label, value)]}. No secret, no credentials in a URL."""
    s = ctx.settings
    return [_es(ctx), _redis(ctx), _llm(ctx), _confluence(ctx),
            {"name": "Embeddings", "ok": True, "detail": f"model {s.embed.model}",
             "facts": [("Device", s.embed.device), ("Max sequence", str(s.embed.max_seq_length))]}]


def _es(ctx) -> dict:
    s = ctx.settings
    row = {"name": "Elasticsearch", "ok": False, "detail": "", "facts": [("URL", redact_url(s.es.url))]}
    try:
        from backend.index import schema
        from backend.markers import IS_MARKER

        es = ctx.services.es
        health = es.cluster.health(timeout="2s")
        row["ok"] = health.get("status") != "red"
        row["detail"] = f"cluster {health.get('status')}, {health.get('number_of_nodes')} node(s)"
        name = schema.current_index(es, s.es.index)
        if name is None:
            row["facts"].append(("Index", f"{s.es.index}: none yet (the first sync creates it)"))
            return row
        stats = es.indices.stats(index=name, metric="store")["_all"]["primaries"]["store"]
        meta = schema.index_meta(es, name)
        documents = es.count(index=name, query=IS_MARKER)["count"]
        chunks = es.count(index=name)["count"] - documents
        row["facts"] += [("Index", f"{s.es.index} → {name}"), ("Size", _bytes(stats["size_in_bytes"])),
                         ("Documents", f"{documents:,}"), ("Chunks", f"{chunks:,}"),
                         ("Embedding model in the index", f"{meta.get('model')} ({meta.get('dims')} dims)")]
    except LoreError as exc:
        row["detail"] = exc.message
    except Exception as exc:  # noqa: BLE001 - a health row reports, it does not raise
        log.warning("health: Elasticsearch check failed: %s", exc)
        row["detail"] = f"not reachable ({type(exc).__name__})"
    return row


def _redis(ctx) -> dict:
    result = ctx.queues.health()
    return {"name": "Redis (job queues)", "ok": result["ok"], "detail": result["detail"],
            "facts": [("URL", redact_url(ctx.settings.redis_url)), ("Sync queue", ctx.settings.web.sync_queue)]}


def _llm(ctx) -> dict:
    s = ctx.settings.llm
    result = ctx.services.llm.health()
    facts = [("URL", redact_url(s.url)), ("Model", s.model), ("Answer timeout", f"{s.timeout:g} s")]
    if result["ok"]:
        try:
            facts.append(("Context window", f"{ctx.services.llm.context_window():,} tokens"))
        except Exception:  # noqa: BLE001 - the window is a detail; the server is up
            pass
    detail = "reachable" if result["ok"] else f"{result['detail']}: answers fall back to sources only"
    return {"name": "LLM server", "ok": result["ok"], "detail": detail, "facts": facts}


def _confluence(ctx) -> dict:
    s = ctx.settings
    row = {"name": "Confluence", "ok": False, "detail": "", "facts": []}
    client = ctx.confluence()
    if client is None:
        row["detail"] = "not configured (LORE_CONFLUENCE_URL)"
        return row
    auth = "personal access token" if s.confluence.pat else "email + API token" if s.confluence.api_token else "none"
    row["facts"] = [("URL", redact_url(s.confluence.url)), ("Signs in with", auth)]
    try:
        me = client.current_user()
        row["ok"] = True
        row["detail"] = f"signed in as {me.get('displayName') or me.get('publicName') or 'the sync account'}"
    except LoreError as exc:
        row["detail"] = exc.message
    row["facts"].append(("Token expires", _expiry(s.web.confluence_token_expires, row)))
    return row


def _expiry(value: str, row: dict) -> str:
    if not value:
        return "not known: Confluence does not report it; set LORE_WEB_CONFLUENCE_TOKEN_EXPIRES"
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return f"LORE_WEB_CONFLUENCE_TOKEN_EXPIRES is not a date (YYYY-MM-DD): {value[:20]!r}"
    left = (day - datetime.now(UTC).date()).days
    if left < 0:
        row["ok"] = False
        return f"{day.isoformat()}: expired {-left} days ago; create a new token"
    if left <= TOKEN_WARN_DAYS:
        row["warn"] = True
        return f"{day.isoformat()}: in {left} days; create a new token before then"
    return f"{day.isoformat()} (in {left} days)"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
