"""Hand grades of answers, stored beside the questions and matched to answers by their text.

Automatic metrics (gold substring, token F1) miss a correct paraphrase and reward a wrong answer that repeats the
question. So a person reads each answer and grades it; `python -m backend.eval answers --grades FILE` then reports
the accepted rate next to the automatic metrics. A grade is one JSONL line:

    {"qid": "lwq-001", "answer": "<the answer's text as shown>", "grade": "correct", "note": "..."}

`grade` is one of GRADES. It applies to that exact answer (compared after normalising case, spaces and citation
marks): answers are deterministic (fixed seed), so a re-run with the same model and context reuses the grades,
and any answer that changed shows up as ungraded instead of inheriting a grade it did not earn.
"""

from __future__ import annotations

import re
from pathlib import Path

from backend.eval.retrieval import _jsonl

CORRECT, PARTIAL, WRONG, DECLINED = "correct", "partial", "wrong", "declined"
NO_ANSWER = "no_answer"  # sources only (model down, too slow, unusable): given without reading
GRADES = (CORRECT, PARTIAL, WRONG, DECLINED, NO_ANSWER)


def answer_key(qid: str, text: str) -> tuple[str, str]:
    return qid, " ".join(re.sub(r"\[\d+\]", " ", text or "").lower().split())


def load_grades(path: str | Path) -> dict[tuple[str, str], dict]:
    grades: dict[tuple[str, str], dict] = {}
    for no, row in _jsonl(path):  # the evaluation sets' reader: missing file and bad JSON named with the line
        if row.get("grade") not in GRADES or not row.get("qid"):
            raise ValueError(f"{path}:{no}: needs a qid and a grade in {', '.join(GRADES)}")
        grades[answer_key(row["qid"], row.get("answer", ""))] = row
    return grades


def apply_grades(rows: list[dict], grades: dict[tuple[str, str], dict]) -> dict:
    """Sets each row's `grade` (None when this answer was never graded); returns the graded summary."""
    for r in rows:
        g = grades.get(answer_key(r["qid"], r["answer"]))
        if r["not_found"]:
            r["grade"] = DECLINED  # nothing to read: the answer is the not-found sentence
        elif r["status"] == "sources_only":
            r["grade"] = NO_ANSWER
        else:
            r["grade"] = g["grade"] if g else None
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def share(items: list[dict], *wanted: str) -> float | None:
        graded = [r for r in items if r["grade"]]
        return round(sum(r["grade"] in wanted for r in graded) / len(graded), 3) if graded else None

    return {
        "graded": sum(1 for r in rows if r["grade"]), "ungraded": [r["qid"] for r in rows if not r["grade"]],
        "accepted": share(answerable, CORRECT),  # a reader takes the answer as it is
        "accepted_or_partial": share(answerable, CORRECT, PARTIAL),
        "wrong": share(answerable, WRONG),
        "declined_answerable": share(answerable, DECLINED),
        "declined_unanswerable": share(unanswerable, DECLINED),
    }


def todo(rows: list[dict]) -> list[dict]:
    """The ungraded answers in the grade file's shape, the gold answer beside each, for a person to fill in."""
    return [{"qid": r["qid"], "question": r.get("question", ""), "gold": r["gold_answer"], "answer": r["answer"],
             "grade": "", "note": ""} for r in rows if not r.get("grade")]


__all__ = ["GRADES", "answer_key", "apply_grades", "load_grades", "todo"]
