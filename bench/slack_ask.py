"""N concurrent signed `/ask` requests against the running Slack bot: acknowledgement and answer latency.

The bot (`bot.app.create_app`) serves on a local port exactly as `python -m bot` does; the Slack Web API and
the response_urls are the stand-in (tests/standins/slack_app.py); questions come from
bench/data/wiki-questions.jsonl over a throw-away index of their pages plus others from the shared wiki;
answers come from the LLM server at LORE_LLM_URL (or none with --sources-only).

    python bench/slack_ask.py [--n 50] [--docs 20] [--workers 2] [--sources-only] [--json out.json]

Measured here (2 shared vCPUs, Qwen2.5 0.5B on llama_cpp.server, 29 Nov 2026):
  --n 50 --sources-only   50/50 acked (p50 106 ms, p99 147 ms), 50/50 answered (p50 3.2 s, p95 4.4 s)
  --n 8 (real LLM)        8/8 acked (p50 18 ms, p99 22 ms), 8/8 answered (p50 124 s, p95 156 s), 3.0/min
The ack never waits on anything but the pool's counter. Throughput is the LLM server's: it runs one
completion at a time (~20 s for a 1.2-1.7k-token prompt, mostly prompt evaluation on the CPU), so more
workers only lengthen its queue; a 50-question run with the model takes ~17 min here and was not run on the
shared machine (it starves everyone's tests of the one LLM server).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from werkzeug.serving import make_server  # noqa: E402

from backend.api.services import Services  # noqa: E402
from backend.eval.retrieval import build_index, load_corpus, load_questions, percentile  # noqa: E402
from backend.identity import IdentityResolver  # noqa: E402
from backend.llm import LLMClient  # noqa: E402
from backend.settings import Settings, SlackSettings  # noqa: E402
from bot.app import EVENTS_PATH, create_app  # noqa: E402
from tests.standins import slack_app  # noqa: E402
from tests.standins.slack_delivery import Delivery, command_body  # noqa: E402

QUESTIONS = REPO / "bench" / "data" / "wiki-questions.jsonl"
SECRET = "bench-signing-secret"
UNAVAILABLE_MARK = "The answer service"  # the notice of a sources-only answer (backend.answers.pipeline)


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def corpus(shared: Path, questions, extra: int):
    """The questions' gold pages plus the first `extra` other wiki pages, with URLs so sources are links."""
    docs = load_corpus(shared / "wiki" / "hyperledger-toc.jsonl")
    gold = {d for q in questions for d in q.gold_doc_ids}
    chosen = [d for d in docs if d.id in gold] + [d for d in docs if d.id not in gold][:extra]
    return [replace(d, url=d.url or f"https://wiki.example/{d.id}") for d in chosen]


def one(delivery: Delivery, state: slack_app.SlackState, slack: slack_app.StandinServer, question: str,
        user: str, timeout: float) -> dict:
    key = uuid.uuid4().hex[:12]
    body = command_body(question, user, slack.response_url(key))
    started = time.perf_counter()
    resp = Delivery(delivery.url, delivery.secret).post(body)  # a session per thread
    ack_s = time.perf_counter() - started
    row = {"status": resp.status_code, "ack_s": ack_s, "ack_text": resp.text[:200], "answer_s": None}
    if resp.status_code != 200 or "Searching" not in resp.text:
        return row
    posts = state.wait_for_responses(key, 1, timeout)
    if posts:
        row["answer_s"] = time.perf_counter() - started
        row["sources_only"] = UNAVAILABLE_MARK in json.dumps(posts[0])
    return row


def run(args, settings: Settings) -> dict:
    shared = Path(os.environ.get("LORE_SHARED_DATA") or REPO.parent / "shared" / "data")
    questions = [q for q in load_questions(QUESTIONS) if q.answerable]
    llm_url = closed_port() if args.sources_only else settings.llm.url
    s = replace(settings, llm=replace(settings.llm, url=llm_url, max_tokens=args.max_tokens,
                                      retries=0 if args.sources_only else settings.llm.retries,
                                      timeout=args.llm_timeout))
    state = slack_app.SlackState()
    users = [u for u in state.users if not state.users[u].get("is_bot")]
    with build_index(s, corpus(shared, questions, args.docs)) as ix, slack_app.serve(state) as slack:
        s = replace(ix.settings, llm=s.llm, slack=SlackSettings(
            signing_secret=SECRET, bot_token=slack_app.BOT_TOKEN, api_url=slack.api_url,
            workers=args.workers, queue_size=args.queue_size))
        services = Services(s, es=ix.indexer.es, embedder=ix.embedder, searcher=ix.searcher,
                            llm=LLMClient(s.llm), identity=IdentityResolver(None))
        app = create_app(s, services=services)
        bot = app.extensions["lore_slack"]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        delivery = Delivery(f"http://127.0.0.1:{server.server_port}{EVENTS_PATH}", SECRET)
        services.answerer.ask("warm-up: load the embedding model", ["public"])  # not timed
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.n) as pool:
            futures = [pool.submit(one, delivery, state, slack, questions[i % len(questions)].question,
                                   users[i % len(users)], args.answer_timeout) for i in range(args.n)]
            rows = [f.result() for f in futures]
        wall = time.perf_counter() - started
        server.shutdown()
        bot.close(wait=True)
    acks = [r["ack_s"] for r in rows]
    answers = [r["answer_s"] for r in rows if r["answer_s"] is not None]
    return {
        "n": args.n, "workers": args.workers, "queue_size": args.queue_size, "llm": "none (sources only)"
        if args.sources_only else f"{settings.llm.url} max_tokens={args.max_tokens}",
        "acknowledged": sum(r["status"] == 200 for r in rows),
        "accepted": sum("Searching" in r["ack_text"] for r in rows),
        "answered": len(answers), "sources_only_answers": sum(bool(r.get("sources_only")) for r in rows),
        "ack_p50_ms": round(percentile(acks, 50) * 1000, 1), "ack_p99_ms": round(percentile(acks, 99) * 1000, 1),
        "ack_max_ms": round(max(acks) * 1000, 1),
        "answer_p50_s": round(percentile(answers, 50), 2), "answer_p95_s": round(percentile(answers, 95), 2),
        "wall_s": round(wall, 1), "answers_per_minute": round(len(answers) / wall * 60, 1) if wall else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50, help="concurrent /ask requests")
    ap.add_argument("--docs", type=int, default=20, help="wiki pages indexed besides the questions' own")
    ap.add_argument("--workers", type=int, default=2, help="LORE_SLACK_WORKERS")
    ap.add_argument("--queue-size", type=int, default=50, help="LORE_SLACK_QUEUE_SIZE")
    ap.add_argument("--max-tokens", type=int, default=96, help="answer tokens (small: the CPU model is slow)")
    ap.add_argument("--llm-timeout", type=float, default=120.0, help="seconds per answer before sources only")
    ap.add_argument("--answer-timeout", type=float, default=1800.0, help="seconds to wait for each answer")
    ap.add_argument("--sources-only", action="store_true", help="no LLM: measure the bot and search alone")
    ap.add_argument("--json", help="write the report here too")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the report is the output; a sources-only run warns 50 times
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it sets INFO on itself: one line per request
    settings = Settings.from_env()
    report = run(args, settings)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if report["answered"] == report["accepted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
