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


def test_all_runs_every_set_it_has_data_for_and_writes_one_table(tmp_path, es):
    shared = tmp_path / "shared"
    for sub in ("wiki", "meetings", "chat"):
        (shared / sub).mkdir(parents=True)
    write_jsonl(shared / "wiki" / "hyperledger-toc.jsonl", [
        {"doc_id": "gov.md", "title": "Governance", "text": "# Chair\nThe TSC elects its chair every year in May."},
        {"doc_id": "rel.md", "title": "Releases", "text": "Releases are cut on the first Monday of each quarter."},
    ])
    write_jsonl(shared / "wiki" / "hyperledger-qa-dev.jsonl", [
        {"qid": "d1", "question": "When is the TSC chair elected?", "answer": "May", "gold_doc_ids": ["gov.md"]},
        {"qid": "d2", "question": "Who owns the moon?", "answer": "NOT_IN_CORPUS", "gold_doc_ids": []},
    ])
    write_jsonl(shared / "meetings" / "qmsum-val-meetings.jsonl", [
        {"meeting_id": "m1", "domain": "Product", "turns": [
            {"speaker": "A", "text": "The remote {vocalsound} should have a rubber case."}]},
        {"meeting_id": "m2", "domain": "Committee", "turns": [{"speaker": "B", "text": "School budgets rise."}]},
    ])
    write_jsonl(shared / "meetings" / "qmsum-val-queries.jsonl", [
        {"qid": "q1", "meeting_id": "m1", "type": "specific", "query": "What material for the remote's case?",
         "answer": "rubber"},
        {"qid": "q2", "meeting_id": "m2", "type": "general", "query": "Summarize the meeting", "answer": "..."},
    ])
    write_jsonl(shared / "chat" / "ubuntu-irc-dev-threads.jsonl", [
        {"thread_id": "t1", "starts_with_question": True, "messages": [
            {"user": "u1", "text": "how do I open a .rar archive?"}, {"user": "u2", "text": "install unrar"},
            {"user": "u1", "text": "thanks, unrar opened the archive"}]},
        {"thread_id": "t2", "starts_with_question": False, "messages": [
            {"user": "u3", "text": "fluxbox fonts look odd"}, {"user": "u4", "text": "set the dpi in xorg"}]},
    ])
    out = tmp_path / "all.json"
    proc = run_eval(["all", "--shared", str(shared), "--json", str(out)])
    assert proc.returncode == 0, proc.stderr
    # our wiki questions cite pages this wiki lacks: that set is left out, and the run says why
    assert "left out wiki-ours" in proc.stdout
    table = proc.stdout[proc.stdout.index("Hit@5"):]
    for name in ("wiki-dev", "qmsum", "chat"):
        assert f"\n{name} " in table
    report = json.loads(out.read_text())
    assert [r["set"] for r in report["sets"]] == ["wiki-dev", "qmsum", "chat"]
    assert [r["questions"] for r in report["sets"]] == [1, 1, 1]  # answerable, specific, opened a thread
    for r in report["sets"]:
        assert set(r["modes"]) == {"bm25", "dense", "hybrid"}
        assert {m: r["modes"][m]["hit@5"] for m in r["modes"]} == {"bm25": 1.0, "dense": 1.0, "hybrid": 1.0}, r["set"]
    for corpus in report["corpora"].values():  # without --index-prefix the indices are thrown away
        assert es.indices.get(index=f"{corpus['index']}*") == {}
