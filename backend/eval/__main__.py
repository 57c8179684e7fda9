"""`python -m backend.eval retrieval|answers --corpus C.jsonl --questions Q.jsonl ...` and
`python -m backend.eval minutes --meetings M.jsonl ...`: measure Lore on any data.

`python -m backend.eval all [--json out.json]`: every evaluation set built from the shared data, one table.

`python -m backend.eval asr --manifest manifest.jsonl`: WER and real-time factor of the speech step.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from backend.errors import LoreError
from backend.eval.sets import SET_NAMES
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
            p.add_argument("--grades", help="hand grades (JSONL, backend/eval/grades.py): report the accepted rate")
            p.add_argument("--grades-todo", metavar="FILE",
                           help="with --grades: write the answers not graded yet here, in the grade file's shape")
    every = sub.add_parser("all", help="every evaluation set from the shared data: bm25/dense/hybrid, one table")
    every.add_argument("--shared", help="the shared data folder (default: LORE_SHARED_DATA or ../shared/data)")
    every.add_argument("--sets", default=",".join(SET_NAMES), help=f"comma-separated subset of {','.join(SET_NAMES)}")
    every.add_argument("--json", dest="json_out", help="write the full report (with per-question rows) here")
    every.add_argument("--index-prefix", metavar="PREFIX",
                       help="keep each corpus's index as PREFIX<corpus>-<fingerprint> and reuse it next time")
    every.add_argument("--embed-cache", metavar="DIR", help="reuse chunk embeddings stored in DIR across runs")
    asr = sub.add_parser("asr", help="WER (Whisper's English normaliser, corpus level) and real-time factor")
    asr.add_argument("--manifest", required=True, help="JSONL: {id, audio (path beside the manifest), reference}")
    asr.add_argument("--model", help="speech model (default LORE_MINUTES_MODEL)")
    asr.add_argument("--compute-type", help="CTranslate2 compute type (default LORE_MINUTES_COMPUTE_TYPE)")
    asr.add_argument("--spelling", help="whisper's english.json (British->American spellings) for the normaliser")
    asr.add_argument("--no-direct", action="store_true", help="skip the faster-whisper-directly comparison")
    asr.add_argument("--repeat", type=int, default=1, help="time each clip N times, keep the fastest (a busy box)")
    asr.add_argument("--json", dest="json_out", help="write the report (with per-clip rows) here")
    _add_minutes(sub)
    graded = sub.add_parser("grades", help="the accepted rate of an answers report, from hand grades")
    graded.add_argument("--report", required=True, help="the --json report of `answers`")
    graded.add_argument("--grades", required=True, help="hand grades (JSONL, backend/eval/grades.py)")
    graded.add_argument("--todo", help="write the answers not graded yet here, in the grade file's shape")
    graded.add_argument("--json", dest="json_out", help="write the report with its grades here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)  # its retries log tracebacks; we report once
    try:
        settings = Settings.from_env()
        if args.command == "all":
            import os
            from pathlib import Path

            from backend.eval.sets import default_shared
            from backend.eval.suite import run_all, table

            shared = Path(args.shared or os.environ.get("LORE_SHARED_DATA") or default_shared())
            names = tuple(n.strip() for n in args.sets.split(",") if n.strip())
            unknown = [n for n in names if n not in SET_NAMES]
            if unknown:
                print(f"error: unknown set(s) {', '.join(unknown)}: choose from {', '.join(SET_NAMES)}",
                      file=sys.stderr)
                return 2
            report = run_all(settings, shared, names, index_prefix=args.index_prefix, embed_cache=args.embed_cache)
            if not report["sets"]:
                print(f"error: no evaluation set has its data under {shared}", file=sys.stderr)
                return 1
            print(table(report))
        elif args.command == "asr":
            from backend.eval.asr import print_asr, run_asr

            report = run_asr(args.manifest, settings, model=args.model, compute_type=args.compute_type,
                             spelling=args.spelling, direct=not args.no_direct, repeat=args.repeat)
            print_asr(report)
        elif args.command == "retrieval":
            from backend.eval.retrieval import modes_arg, print_retrieval, run_retrieval

            report = run_retrieval(args.corpus, args.questions, modes_arg(args.mode), args.k, settings,
                                   keep=args.keep_index)
            print_retrieval(report)
        elif args.command == "grades":
            from backend.eval.answers import print_answers, print_grades
            from backend.eval.grades import apply_grades, load_grades, todo

            try:
                with open(args.report, encoding="utf-8") as f:
                    report = json.load(f)
                report["grades"] = apply_grades(report["rows"], load_grades(args.grades))
            except (OSError, ValueError, KeyError) as exc:
                print(f"error: cannot grade {args.report} with {args.grades}: {exc}", file=sys.stderr)
                return 2
            if args.todo:
                with open(args.todo, "w", encoding="utf-8") as f:
                    f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in todo(report["rows"]))
            if "retrieval" in report:
                print_answers(report)
            else:
                print_grades(report["grades"])
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
