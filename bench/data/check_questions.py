"""Re-verify hand-written wiki questions against the pages they cite, so an editor can change either safely.

Usage: python bench/data/check_questions.py --shared ../shared/data [QUESTIONS.jsonl ...]
(default: bench/data/wiki-questions.jsonl). Exit status 1 if any question fails.

Rules, per question: gold_doc_ids are exact doc_id values of wiki/hyperledger-toc.jsonl; an answerable question's
evidence (fragments joined by " ... ") is compared case-insensitively with whitespace collapsed, every fragment
must occur in some gold page and every gold page must hold some fragment; an unanswerable one has
"answer": "NOT_IN_CORPUS", no gold pages and no evidence. Pages outside gold_doc_ids that hold a fragment are
listed as notes: they may deserve to be gold too.
"""

import argparse
import json
import sys
from pathlib import Path

TYPES = {"factoid", "who", "date", "list", "why", "multi-page", "unanswerable"}
FRAGMENT_SEP = " ... "
UNANSWERABLE = "NOT_IN_CORPUS"


def norm(text: str) -> str:
    return " ".join(text.split()).lower()


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(question: dict, pages: dict[str, str]) -> tuple[list[str], list[str]]:
    """Return (problems, notes) for one question."""
    problems: list[str] = []
    notes: list[str] = []
    for field in ("qid", "question", "answer", "gold_doc_ids", "type", "evidence"):
        if field not in question:
            problems.append(f"missing field {field!r}")
    if problems:
        return problems, notes
    gold, evidence = question["gold_doc_ids"], question["evidence"].strip()
    if question["type"] not in TYPES:
        problems.append(f"type {question['type']!r} is not one of {sorted(TYPES)}")
    if question["type"] == "unanswerable" or question["answer"] == UNANSWERABLE:
        if question["answer"] != UNANSWERABLE or gold or evidence or question["type"] != "unanswerable":
            problems.append(f"unanswerable needs type unanswerable, answer {UNANSWERABLE}, no gold, no evidence")
        return problems, notes
    if not gold or not evidence:
        problems.append("an answerable question needs gold_doc_ids and evidence")
        return problems, notes
    unknown = [doc_id for doc_id in gold if doc_id not in pages]
    if unknown:
        problems.append(f"unknown doc_id(s): {unknown}")
        return problems, notes
    fragments = [norm(f) for f in evidence.split(FRAGMENT_SEP) if f.strip()]
    for fragment in fragments:
        holders = [doc_id for doc_id, text in pages.items() if fragment in text]
        if not set(holders) & set(gold):
            problems.append(f"evidence not found in any gold page: {fragment[:80]!r}")
        extra = sorted(set(holders) - set(gold))
        if extra:
            notes.append(f"fragment {fragment[:50]!r} also in {extra[:5]}{' ...' if len(extra) > 5 else ''}")
    for doc_id in gold:
        if not any(fragment in pages[doc_id] for fragment in fragments):
            problems.append(f"gold page {doc_id} holds none of the evidence")
    return problems, notes


def main() -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=here.parents[2] / "shared" / "data")
    parser.add_argument("questions", type=Path, nargs="*", default=[here / "wiki-questions.jsonl"])
    args = parser.parse_args()
    wiki = args.shared / "wiki" / "hyperledger-toc.jsonl"
    if not wiki.is_file():
        print(f"wiki corpus not found at {wiki}; pass --shared <path to shared/data>", file=sys.stderr)
        return 1
    pages = {row["doc_id"]: norm(row["text"]) for row in read_jsonl(wiki)}
    failed = total = 0
    seen: set[str] = set()
    for path in args.questions:
        for question in read_jsonl(path):
            total += 1
            problems, notes = check(question, pages)
            qid = question.get("qid", "?")
            if qid in seen:
                problems.append("duplicate qid")
            seen.add(qid)
            for note in notes:
                print(f"note {qid}: {note}")
            for problem in problems:
                print(f"FAIL {qid}: {problem}")
            failed += bool(problems)
    print(f"{total - failed}/{total} questions verified against {len(pages)} pages")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
