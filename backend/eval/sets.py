"""Every evaluation set Lore can build from the shared development data, in the shapes `retrieval` reads.

Nothing is copied into the repository: the sets are built in memory from `../shared/data` (or
LORE_SHARED_DATA / --shared) each run. A set whose source file is absent is reported and left out.

  wiki-ours   our 30 questions on the Hyperledger TOC wiki (bench/data/wiki-questions.jsonl)
  wiki-dev    the 29 shared questions on the same wiki (wiki/hyperledger-qa-dev.jsonl)
  qmsum       QMSum's 237 specific validation queries, each meeting one document
  chat        #ubuntu IRC threads as Slack-style threads: the opening question asks, the thread's replies
              are the document to find (the question itself is not in it, as when a later asker
              asks again in other words)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
OUR_WIKI_QUESTIONS = REPO / "bench" / "data" / "wiki-questions.jsonl"
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
# A thread whose opening question got fewer replies than this has no answer to find.
CHAT_MIN_REPLIES = 2
SET_NAMES = ("wiki-ours", "wiki-dev", "qmsum", "chat")


@dataclass
class EvalSet:
    name: str
    corpus_name: str  # sets that share a corpus share one index
    corpus: list[dict]  # {doc_id, title, text, url?}
    questions: list[dict]  # {qid, question, answer?, gold_doc_ids}


def default_shared() -> Path:
    return REPO.parent / "shared" / "data"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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


def qmsum_questions(queries: list[dict], include_general: bool = False) -> list[dict]:
    return [
        {"qid": q["qid"], "question": q["query"], "answer": q["answer"], "gold_doc_ids": [q["meeting_id"]],
         "type": q["type"]}
        for q in queries
        if q["type"] == "specific" or include_general
    ]


def chat_corpus(threads: list[dict]) -> list[dict]:
    """One document per thread: its replies as `user: text` lines, with no title (a thread has none)."""
    docs = []
    for t in threads:
        replies = t["messages"][1:] if t.get("starts_with_question") else t["messages"]
        text = "\n".join(f"{m['user']}: {m['text']}" for m in replies if m.get("text", "").strip())
        docs.append({"doc_id": t["thread_id"], "title": "", "text": text})
    return docs


def chat_questions(threads: list[dict]) -> list[dict]:
    return [
        {"qid": f"chat-{t['thread_id']}", "question": t["messages"][0]["text"], "gold_doc_ids": [t["thread_id"]],
         "type": "thread"}
        for t in threads
        if t.get("starts_with_question") and len(t["messages"]) > CHAT_MIN_REPLIES
    ]


def question_shape(rows: list[dict]) -> list[dict]:
    return [{k: row[k] for k in QUESTION_FIELDS if k in row} for row in rows]


def check_questions(questions: list[dict], doc_ids: set[str], name: str) -> None:
    """Refuse a set the evaluation would score wrongly: duplicate qids or gold pages not in the corpus."""
    seen: set[str] = set()
    for q in questions:
        if q["qid"] in seen:
            raise ValueError(f"{name}: duplicate qid {q['qid']}; give each question a unique qid")
        seen.add(q["qid"])
        missing = [d for d in q["gold_doc_ids"] if d not in doc_ids]
        if missing:
            raise ValueError(f"{name}: {q['qid']} cites {missing}, not in the corpus; fix gold_doc_ids")


def build_sets(shared: Path, names: tuple[str, ...] = SET_NAMES) -> tuple[list[EvalSet], list[str]]:
    """The sets among `names` whose data is present, and a line per set left out and why."""
    out: list[EvalSet] = []
    missing: list[str] = []
    wiki_file = shared / "wiki" / "hyperledger-toc.jsonl"
    meetings = shared / "meetings" / "qmsum-val-meetings.jsonl"
    queries = shared / "meetings" / "qmsum-val-queries.jsonl"
    chat_file = shared / "chat" / "ubuntu-irc-dev-threads.jsonl"
    wiki = wiki_corpus(read_jsonl(wiki_file)) if wiki_file.is_file() else None
    sources = {
        "wiki-ours": (wiki_file, lambda: ("wiki", wiki, question_shape(read_jsonl(OUR_WIKI_QUESTIONS)))),
        "wiki-dev": (wiki_file, lambda: ("wiki", wiki, question_shape(
            read_jsonl(shared / "wiki" / "hyperledger-qa-dev.jsonl")))),
        "qmsum": (meetings, lambda: ("qmsum", qmsum_corpus(read_jsonl(meetings)),
                                     qmsum_questions(read_jsonl(queries)))),
        "chat": (chat_file, lambda: ("chat", chat_corpus(read_jsonl(chat_file)),
                                     chat_questions(read_jsonl(chat_file)))),
    }
    for name in names:
        if name not in sources:
            raise ValueError(f"unknown evaluation set {name!r}: choose from {', '.join(SET_NAMES)}")
        needed, make = sources[name]
        if not needed.is_file():
            missing.append(f"{name}: {needed} not found")
            continue
        corpus_name, corpus, questions = make()
        try:
            check_questions(questions, {d["doc_id"] for d in corpus}, name)
        except ValueError as exc:  # e.g. our wiki questions against another copy of the wiki
            missing.append(str(exc))
            continue
        out.append(EvalSet(name, corpus_name, corpus, questions))
    return out, missing
