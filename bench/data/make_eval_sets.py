"""Build evaluation corpora and question sets from the shared development data, without copying it into the repo.

Usage: python bench/data/make_eval_sets.py --shared ../shared/data --out bench/out/eval [--include-general]

Writes JSONL files (one record a line) in the shapes the evaluation command reads:
  corpus     {"doc_id": str, "title": str, "text": str, "url"?: str}
  questions  {"qid": str, "question": str, "answer": str, "gold_doc_ids": [doc_id, ...], "type"?: str, ...}
             "answer": "NOT_IN_CORPUS" with empty gold_doc_ids marks a question the corpus cannot answer.
Files: wiki-corpus.jsonl (all 553 Hyperledger TOC pages, redirect stubs included, with a Confluence-style url),
qmsum-corpus.jsonl (one document per QMSum validation meeting, "Speaker: text" lines, markup stripped),
qmsum-questions.jsonl (specific queries; --include-general adds the "summarize the whole meeting" ones),
wiki-qa-dev.jsonl (the 29 shared questions), wiki-ours.jsonl (ours from bench/data),
wiki-all-questions.jsonl (ours + dev).
"""

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

# the builders live in backend/eval/sets.py, which `python -m backend.eval all` uses too
from backend.eval.sets import (  # noqa: E402
    OUR_WIKI_QUESTIONS,
    qmsum_corpus,
    qmsum_questions,
    question_shape,
    wiki_corpus,
)
from backend.eval.sets import check_questions as _check  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        sys.exit(f"missing input {path}: pass --shared <path to shared/data> (or set LORE_SHARED_DATA)")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path.name}: {len(rows)} records")


def check_questions(questions: list[dict], doc_ids: set[str], name: str) -> None:
    """Stop before writing a set the evaluation would score wrongly: duplicate qids or gold pages not in the corpus."""
    try:
        _check(questions, doc_ids, name)
    except ValueError as exc:
        sys.exit(str(exc))


def main() -> None:
    default_shared = os.environ.get("LORE_SHARED_DATA") or REPO.parent / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(default_shared), help="the shared/data folder")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "eval", help="output folder")
    parser.add_argument("--include-general", action="store_true", help="add QMSum 'summarize the meeting' queries")
    args = parser.parse_args()

    pages = read_jsonl(args.shared / "wiki" / "hyperledger-toc.jsonl")
    meetings = read_jsonl(args.shared / "meetings" / "qmsum-val-meetings.jsonl")
    queries = read_jsonl(args.shared / "meetings" / "qmsum-val-queries.jsonl")
    dev = question_shape(read_jsonl(args.shared / "wiki" / "hyperledger-qa-dev.jsonl"))
    ours = question_shape(read_jsonl(OUR_WIKI_QUESTIONS))

    wiki = wiki_corpus(pages)
    wiki_ids = {d["doc_id"] for d in wiki}
    check_questions(ours + dev, wiki_ids, "wiki questions")
    qmsum = qmsum_corpus(meetings)
    qmsum_qs = qmsum_questions(queries, args.include_general)
    check_questions(qmsum_qs, {d["doc_id"] for d in qmsum}, "qmsum questions")

    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "wiki-corpus.jsonl", wiki)
    write_jsonl(args.out / "qmsum-corpus.jsonl", qmsum)
    write_jsonl(args.out / "qmsum-questions.jsonl", qmsum_qs)
    write_jsonl(args.out / "wiki-qa-dev.jsonl", dev)
    write_jsonl(args.out / "wiki-ours.jsonl", ours)
    write_jsonl(args.out / "wiki-all-questions.jsonl", ours + dev)
    unanswerable = sum(1 for q in ours + dev if not q["gold_doc_ids"])
    print(f"wiki questions: {len(ours)} ours + {len(dev)} dev, {unanswerable} unanswerable; output in {args.out}")


if __name__ == "__main__":
    main()
