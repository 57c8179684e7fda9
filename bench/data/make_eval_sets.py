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
import re
import sys
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUR_WIKI_QUESTIONS = HERE / "wiki-questions.jsonl"
# The pages came from the Hyperledger Confluence (space TSC); urls only need to be stable and unique per doc_id.
WIKI_URL_BASE = "https://wiki.hyperledger.org/display/TSC/"
# QMSum transcript markup: {disfmarker} {vocalsound} {gap} {pause} {comment} {nonvocalsound}.
QMSUM_MARKUP = re.compile(r"\{[a-z]+\}")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
DOMAIN_TITLES = {
    "Product": "Product design meeting",
    "Academic": "Research group meeting",
    "Committee": "Parliamentary committee meeting",
}
QUESTION_FIELDS = ("qid", "question", "answer", "gold_doc_ids", "type", "evidence", "difficulty")


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


def wiki_url(doc_id: str) -> str:
    return WIKI_URL_BASE + quote(doc_id.removesuffix(".md"), safe="/")


def wiki_corpus(pages: list[dict]) -> list[dict]:
    docs = []
    for page in pages:
        # A few titles carry Markdown-tool directives such as "<!-- omit in toc -->" that Confluence never shows.
        title = HTML_COMMENT.sub("", page.get("title") or "").strip() or Path(page["doc_id"]).stem
        docs.append({"doc_id": page["doc_id"], "title": title, "text": page["text"], "url": wiki_url(page["doc_id"])})
    return docs


def meeting_text(turns: list[dict]) -> str:
    lines = []
    for turn in turns:
        text = " ".join(QMSUM_MARKUP.sub(" ", turn.get("text", turn.get("content", ""))).split())
        if text:  # turns made only of markup (a cough, a false start) carry nothing to retrieve
            lines.append(f"{turn['speaker']}: {text}")
    return "\n".join(lines)


def qmsum_corpus(meetings: list[dict]) -> list[dict]:
    return [
        {
            "doc_id": m["meeting_id"],
            "title": f"{DOMAIN_TITLES.get(m['domain'], m['domain'] + ' meeting')} {m['meeting_id']}",
            "text": meeting_text(m["turns"]),
        }
        for m in meetings
    ]


def qmsum_questions(queries: list[dict], include_general: bool) -> list[dict]:
    return [
        {
            "qid": q["qid"],
            "question": q["query"],
            "answer": q["answer"],
            "gold_doc_ids": [q["meeting_id"]],
            "type": q["type"],
        }
        for q in queries
        if q["type"] == "specific" or include_general
    ]


def question_shape(rows: list[dict]) -> list[dict]:
    return [{k: row[k] for k in QUESTION_FIELDS if k in row} for row in rows]


def check_questions(questions: list[dict], doc_ids: set[str], name: str) -> None:
    """Stop before writing a set the evaluation would score wrongly: duplicate qids or gold pages not in the corpus."""
    seen: set[str] = set()
    for q in questions:
        if q["qid"] in seen:
            sys.exit(f"{name}: duplicate qid {q['qid']}; give each question a unique qid")
        seen.add(q["qid"])
        missing = [d for d in q["gold_doc_ids"] if d not in doc_ids]
        if missing:
            sys.exit(f"{name}: {q['qid']} cites {missing}, not in the corpus; fix gold_doc_ids")


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
