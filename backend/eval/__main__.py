"""`python -m backend.eval retrieval|answers --corpus C.jsonl --questions Q.jsonl ...` and
`python -m backend.eval minutes --meetings M.jsonl ...`: measure Lore on any data."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from backend.errors import LoreError
from backend.search import MODES
from backend.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (("retrieval", "Recall@1/5/10, MRR@10, indexing speed, query latency"),
                        ("answers", "retrieval metrics plus answer quality, citations, not-found, latency")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--corpus", required=True, help="JSONL: {doc_id, title, text, url?} per line")
        p.add_argument("--questions", required=True, help="JSONL: {qid, question, answer?, gold_doc_ids}")
        p.add_argument("--json", dest="json_out", help="write the full report (with per-question rows) here")
        p.add_argument("--index", dest="keep_index", metavar="NAME",
                       help="index into this alias and keep it; a later run with the same corpus reuses it")
        if name == "retrieval":
            p.add_argument("--mode", default="all", choices=[*MODES, "all"])
            p.add_argument("--k", type=int, default=10)
        else:
            which = p.add_mutually_exclusive_group()
            which.add_argument("--limit", type=int, default=0, help="answer only the first N questions")
            which.add_argument("--sample", type=int, default=0,
                               help="answer N questions spread evenly over the file (every meeting or page "
                                    "family, not just the first); the same N always picks the same questions")
    _add_minutes(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)  # its retries log tracebacks; we report once
    try:
        settings = Settings.from_env()
        if args.command == "retrieval":
            from backend.eval.retrieval import modes_arg, print_retrieval, run_retrieval

            report = run_retrieval(args.corpus, args.questions, modes_arg(args.mode), args.k, settings,
                                   keep=args.keep_index)
            print_retrieval(report)
        elif args.command == "minutes":
            from backend.eval.minutes import run_minutes

            report = run_minutes(args, settings)
        else:
            from backend.eval.answers import run_answers

            report = run_answers(args, settings)
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, default=str)
        print(f"report written to {args.json_out}")
    return 0


def _add_minutes(sub) -> None:
    p = sub.add_parser("minutes", help="ROUGE-1/2/L of generated minutes' summaries next to LEAD, and their time")
    p.add_argument("--meetings", required=True, help="JSONL: {meeting_id, general_summary, turns: [{speaker, text}]}")
    p.add_argument("--sample", type=int, default=0,
                   help="summarise N meetings spread evenly over the file; the same N picks the same meetings")
    p.add_argument("--wait-llm", type=float, default=300, metavar="SECONDS",
                   help="before each meeting, wait this long for an LLM server that does not accept connections")
    p.add_argument("--json", dest="json_out", help="write the full report (with per-meeting rows) here")


if __name__ == "__main__":
    sys.exit(main())
