"""Hand grades: matched to the exact answer they were given for, summarised as the accepted rate."""

from __future__ import annotations

import json

import pytest

from backend.eval.__main__ import main
from backend.eval.grades import apply_grades, load_grades


def row(qid: str, answer: str, answerable: bool = True, status: str = "answered", not_found: bool = False) -> dict:
    return {"qid": qid, "answer": answer, "answerable": answerable, "status": status, "not_found": not_found,
            "gold_answer": "gold", "question": f"question {qid}"}


def write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_a_grade_follows_its_answer_and_a_changed_answer_is_ungraded(tmp_path):
    grades = load_grades(write(tmp_path / "g.jsonl", [
        {"qid": "q1", "answer": "Chris Ferris and Emmanuel Viale [1].", "grade": "correct"},
        {"qid": "q2", "answer": "It was 2019 [2].", "grade": "wrong"},
    ]))
    rows = [row("q1", "Chris  Ferris and Emmanuel Viale [3]."),  # other citation number, other spacing: same answer
            row("q2", "It was 2021 [2]."),  # a different answer: the old grade does not carry over
            row("q3", "I could not find the answer.", answerable=False, status="not_found", not_found=True),
            row("q4", "", status="sources_only")]
    summary = apply_grades(rows, grades)
    assert [r["grade"] for r in rows] == ["correct", None, "declined", "no_answer"]
    assert summary["ungraded"] == ["q2"]
    assert summary["accepted"] == 0.5 and summary["declined_unanswerable"] == 1.0  # of the graded answerable: q1, q4


def test_a_bad_grade_line_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "g.jsonl", [{"qid": "q1", "answer": "x", "grade": "correct"},
                                        {"qid": "q2", "answer": "y", "grade": "fine"}])
    with pytest.raises(ValueError, match=r"g\.jsonl:2: .*correct, partial, wrong, declined"):
        load_grades(path)


def test_the_grades_command_reports_the_accepted_rate_and_writes_what_is_left_to_grade(tmp_path, capsys):
    report = {"rows": [row("q1", "Binh, Tamas, Robert and Sheehan [1]."), row("q2", "Greg Haskins [1].")]}
    (tmp_path / "r.json").write_text(json.dumps(report), encoding="utf-8")
    grades = write(tmp_path / "g.jsonl", [{"qid": "q1", "answer": "Binh, Tamas, Robert and Sheehan [1].",
                                           "grade": "correct"}])
    assert main(["grades", "--report", str(tmp_path / "r.json"), "--grades", grades,
                 "--todo", str(tmp_path / "todo.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "accepted (hand-graded)     1.000" in out and "ungraded answers (1): q2" in out
    todo = [json.loads(line) for line in (tmp_path / "todo.jsonl").read_text().splitlines()]
    assert [(t["qid"], t["answer"], t["grade"]) for t in todo] == [("q2", "Greg Haskins [1].", "")]
    assert main(["grades", "--report", str(tmp_path / "missing.json"), "--grades", grades]) == 2
