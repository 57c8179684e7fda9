"""`POST /api/ask` (JSON, or Server-Sent Events with `stream: true`) and `GET /api/search`.

SSE events: `notice` {message}, `sources` {sources}, `token` {text}, `done` {answer} (the checked answer:
clients replace the streamed text with `answer.text`), `error` {error}. Between events that are slow to come
(the model reading a 3-4k-token prompt on a CPU takes 20 s and more) a `: keep-alive` comment line is sent
every `LORE_API_SSE_KEEPALIVE_SECONDS`, which SSE clients ignore. `sse_stream` writes that text from the answer
pipeline's events; the ask page (backend/web/views_ask.py) streams its answers with it too.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from backend.api.auth import asker_identities, require_token
from backend.errors import BadRequest
from backend.search import MODES

log = logging.getLogger(__name__)

bp = Blueprint("ask", __name__, url_prefix="/api")

MAX_HISTORY = 20  # messages accepted; the prompt keeps only the last few (prompts.HISTORY_TURNS)
MAX_K = 50  # pages a search may return: more is a crawl, not a search


def services():
    return current_app.extensions["lore"]


@bp.before_request
def _authenticate() -> None:
    require_token(services().settings.api)


@bp.post("/ask")
def ask():
    body = json_body()
    question = question_of(body)
    history = _history(body.get("history"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest('"stream" must be true or false.')
    svc = services()
    answerer = svc.answerer
    answerer.check_question(question)  # an empty question is a 400 before any stream starts
    identities = asker_identities(svc.identity, body)
    if not stream:
        return jsonify(answerer.ask(question, identities, history).to_dict())
    events = answerer.ask_stream(question, identities, history)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies must not buffer the stream
    stream_out = sse_stream(events, svc.settings.api.sse_keepalive_seconds)
    return Response(stream_with_context(stream_out), mimetype="text/event-stream", headers=headers)


@bp.get("/search")
def search():
    q = request.args.get("q", "")
    if not q.strip():
        raise BadRequest("The search query is empty: pass ?q=<words to search for>.")
    k = _int_arg("k", services().settings.search.k, 1, MAX_K)
    mode = request.args.get("mode", "hybrid")
    if mode not in MODES:
        raise BadRequest(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
    svc = services()
    result = svc.searcher.search(q, asker_identities(svc.identity), k=k, mode=mode)
    # ranks, never scores: BM25 scores carry index-wide term statistics, so a caller could probe words of pages the
    # asker cannot read (operators who want scores run `python -m backend search` next to the index)
    return jsonify({"query": result.query, "mode": result.mode, "took_ms": round(result.took_ms, 1),
                    "results": [{
                        "rank": rank, "doc_id": d.doc_id, "title": d.title, "url": d.url, "snippet": d.snippet,
                        "passages": [{"chunk_id": h.chunk_id, "heading_path": h.heading_path, "snippet": h.snippet}
                                     for h in d.hits[:3]],  # the page's best three passages: enough to judge it
                    } for rank, d in enumerate(result.docs, start=1)]})


KEEPALIVE = ": keep-alive\n\n"
_END = object()


def sse_stream(events: Iterator[dict], keepalive_s: float) -> Iterator[str]:
    """Events as SSE text; a keep-alive comment whenever `keepalive_s` pass without one.

    The answer pipeline blocks while the model reads the prompt, so it runs in a thread that hands events over
    a queue; this generator waits on the queue with a timeout. If the client goes away, the thread stops at the
    next event and closes the pipeline (which closes the model's stream).
    """
    if keepalive_s <= 0:
        yield from (_event(e) for e in events)
        return
    handoff: queue.Queue = queue.Queue()
    gone = threading.Event()

    def pump() -> None:
        try:
            for event in events:
                handoff.put(event)
                if gone.is_set():
                    break
        except BaseException as exc:  # handed to the request thread, which raises it as before
            handoff.put(exc)
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
            handoff.put(_END)

    threading.Thread(target=pump, name="lore-sse", daemon=True).start()
    try:
        while True:
            try:
                item = handoff.get(timeout=keepalive_s)
            except queue.Empty:
                yield KEEPALIVE
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield _event(item)
    finally:
        gone.set()


def _event(event: dict) -> str:
    name = event.pop("event")
    return f"event: {name}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def json_body() -> dict:
    """The request's JSON object (also the macro endpoints'), or a 400 that says what to send."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('Send a JSON object with Content-Type: application/json, e.g. {"question": "..."}.')
    return body


def question_of(body: dict) -> str:
    question = body.get("question")
    if not isinstance(question, str):
        raise BadRequest('Send the question as a string: {"question": "How do we cut a release?"}.')
    return question


def _history(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_HISTORY:
        raise BadRequest(f'"history" must be a list of at most {MAX_HISTORY} messages {{"role", "content"}}.')
    out = []
    for m in value:
        if not (isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)):
            raise BadRequest('Each "history" message needs "role" ("user" or "assistant") and "content" (text).')
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"?{name} must be a whole number between {lo} and {hi}.") from None
    if not lo <= value <= hi:
        raise BadRequest(f"?{name} must be between {lo} and {hi}.")
    return value
