"""`python -m backend.eval retrieval` as a person runs it: any corpus in the shared shape, three modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_eval(args: list[str], env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "backend.eval", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_retrieval_on_unseen_data_prints_every_mode(tmp_path, es):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"doc_id": "bikes", "title": "Bike storage", "text": "Bicycles go in the basement rack behind door B."},
        {"doc_id": "lunch", "title": "Canteen", "text": "The canteen serves lunch from 11:30 to 14:00."},
        {"doc_id": "vpn", "title": "Remote access", "text": "Connect to the VPN with the Lore client and MFA."},
    ])
    # invalid UTF-8 in a corpus line must not stop the evaluation
    with open(corpus, "ab") as f:
        f.write(b'{"doc_id": "bad", "title": "Caf\xe9", "text": "Menu \xff of the caf\xe9"}\n')
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"qid": "1", "question": "where are bicycles kept", "gold_doc_ids": ["bikes"]},
        {"qid": "2", "question": "when is lunch served", "gold_doc_ids": ["lunch"]},
        {"qid": "3", "question": "what is the CEO's salary", "answer": "NOT_IN_CORPUS", "gold_doc_ids": []},
    ])
    out = tmp_path / "report.json"
    proc = run_eval(["retrieval", "--corpus", str(corpus), "--questions", str(questions), "--json", str(out)])
    assert proc.returncode == 0, proc.stderr
    for mode in ("bm25", "dense", "hybrid"):
        assert f"\n{mode} " in proc.stdout
    report = json.loads(out.read_text())
    assert report["documents"] == 4 and report["unanswerable"] == 1
    assert all(m["recall@5"] == 1.0 for m in report["modes"])
    assert es.indices.get(index=f"{report['index']}*") == {}  # the throw-away index is gone


def test_elasticsearch_down_is_a_clear_error_and_non_zero_exit(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"doc_id": "a", "title": "A", "text": "alpha"}])
    questions = write_jsonl(tmp_path / "q.jsonl", [{"qid": "1", "question": "alpha", "gold_doc_ids": ["a"]}])
    proc = run_eval(["retrieval", "--corpus", str(corpus), "--questions", str(questions)],
                    {"LORE_ES_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 1
    assert "http://127.0.0.1:9" in proc.stderr and "Traceback" not in proc.stderr


def test_a_malformed_question_file_names_the_line(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"doc_id": "a", "title": "A", "text": "alpha"}])
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"qid": "1", "question": "alpha", "gold_doc_ids": ["a"]}\n{not json\n')
    proc = run_eval(["retrieval", "--corpus", str(corpus), "--questions", str(questions)])
    assert proc.returncode == 1 and f"{questions}:2" in proc.stderr
