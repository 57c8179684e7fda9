"""Answer evaluation: `python -m backend.eval answers --corpus C.jsonl --questions Q.jsonl [--json F] [--limit N]`.

The corpus goes into a throw-away index (backend.eval.retrieval.build_index); every question is answered
by the real pipeline as a reader who sees everything. Measured:
- retrieval: doc-level Recall@1/5/10 and MRR@10 of the hybrid search (as `eval retrieval` computes them);
- contains-gold: the normalised gold answer (lowercase, no punctuation, no articles) is a substring of the
  normalised answer; or, for gold answers of more than SHORT_GOLD_TOKENS tokens, token F1 >= F1_MATCH;
- citation precision: cited pages that are gold pages, over all citations (model-written and inferred);
- not-found: accuracy on NOT_IN_CORPUS questions, and the false not-found rate on answerable ones;
- latency p50/p95 of retrieval, first token and the whole answer.
"""

from __future__ import annotations

import json
import re
import string
import sys
import time
from collections import Counter
from dataclasses import asdict

from backend.answers import Answerer
from backend.documents import PUBLIC
from backend.errors import redact_url
from backend.eval.grades import apply_grades, load_grades, todo
from backend.eval.retrieval import Question, build_index, evaluate_mode, load_corpus, load_questions, percentile
from backend.llm import LLMClient
from backend.settings import Settings

SHORT_GOLD_TOKENS = 4  # up to this many tokens a gold answer ("Gradle 8.7") must appear verbatim
F1_MATCH = 0.5  # SQuAD-style token F1 for longer gold answers, which an answer paraphrases
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, punctuation and articles removed, whitespace collapsed."""
    text = text.lower()
    text = "".join(ch if ch not in string.punctuation else " " for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    p, g = normalise(prediction).split(), normalise(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def token_recall(prediction: str, gold: str) -> float:
    """Share of the gold answer's tokens that the prediction repeats (order-free, with multiplicity)."""
    p, g = normalise(prediction).split(), normalise(gold).split()
    return sum((Counter(p) & Counter(g)).values()) / len(g) if g else 0.0


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


def contains_gold(answer: str, gold: str) -> tuple[bool, str]:
    """(matched, how): "substring", "f1", or "" when neither rule holds."""
    a, g = normalise(re.sub(r"\[\d+\]", " ", answer)), normalise(gold)
    if not g:
        return False, ""
    if re.search(rf"(?<!\w){re.escape(g)}(?!\w)", a):
        return True, "substring"
    if len(g.split()) > SHORT_GOLD_TOKENS and token_f1(a, g) >= F1_MATCH:
        return True, "f1"
    return False, ""


def spread_sample(items: list, n: int) -> list:
    """n items at even steps through the list (all of them when n >= len): deterministic, order kept."""
    if n <= 0 or n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def run_answers(args, settings: Settings) -> dict:
    docs = load_corpus(args.corpus)
    questions = load_questions(args.questions)
    if getattr(args, "limit", 0):
        questions = questions[: args.limit]
    elif getattr(args, "sample", 0):
        questions = spread_sample(questions, args.sample)
    llm = LLMClient(settings.llm)
    health = llm.health()
    if not health["ok"]:
        print(f"warning: the LLM server is {health['detail']}: answers will be sources only", file=sys.stderr)
    started = time.perf_counter()
    with build_index(settings, docs, keep=getattr(args, "keep_index", None)) as ix:
        retrieval = evaluate_mode(ix, questions, "hybrid", 10)
        answerer = Answerer(ix.settings, ix.searcher, llm)
        rows = [_answer_row(answerer, q, i, len(questions)) for i, q in enumerate(questions, start=1)]
    report = {
        "corpus": args.corpus, "questions_file": args.questions, "documents": len(docs), "chunks": ix.chunks,
        "questions": len(questions), "llm": {"url": redact_url(llm.url), "model": settings.llm.model,
                                             "context_window": llm.context_window(),
                                             "max_tokens": settings.llm.max_tokens},
        "options": asdict(answerer.options), "seconds": round(time.perf_counter() - started, 1),
        "retrieval": {k: v for k, v in retrieval.items() if k != "rows"},
        "answers": summarise(rows), "rows": rows,
    }
    if getattr(args, "grades", None):
        report["grades"] = apply_grades(rows, load_grades(args.grades))
        if getattr(args, "grades_todo", None):
            with open(args.grades_todo, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in todo(rows))
    print_answers(report)
    return report


def _answer_row(answerer: Answerer, q: Question, i: int, total: int) -> dict:
    answer = answerer.ask(q.question, [PUBLIC])
    gold = set(q.gold_doc_ids)
    cited = [c.doc_id for c in answer.citations]
    matched, how = contains_gold(answer.text, q.answer) if q.answerable and not answer.not_found else (False, "")
    row = {
        "qid": q.qid, "question": q.question, "answerable": q.answerable, "status": answer.status,
        "not_found": answer.not_found,
        "contains_gold": matched, "match": how,
        "f1": round(token_f1(answer.text, q.answer), 3) if q.answerable else None,
        "gold_recall": round(token_recall(answer.text, q.answer), 3) if q.answerable else None,
        "citations": cited, "inferred_citations": sum(c.inferred for c in answer.citations),
        "cited_gold": sum(d in gold for d in cited), "sources": [s.doc_id for s in answer.sources],
        "gold_in_sources": bool(gold & {s.doc_id for s in answer.sources}), "notice": answer.notice,
        "answer": answer.text, "gold_answer": q.answer, "query": answer.query, **answer.timings,
    }
    print(f"[{i}/{total}] {q.qid}: {answer.status}{' gold' if matched else ''} "
          f"cited={len(cited)} ({row['cited_gold']} gold) {answer.timings['total_ms'] / 1000:.1f}s", flush=True)
    return row


def summarise(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    cited = sum(len(r["citations"]) for r in answerable)

    def share(items: list[dict], key) -> float | None:
        return round(sum(1 for r in items if key(r)) / len(items), 3) if items else None

    def lat(key: str) -> dict:
        values = [r[key] for r in rows if r.get(key) is not None]
        return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1), "n": len(values)}

    return {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "contains_gold": share(answerable, lambda r: r["contains_gold"]),
        "contains_gold_by": dict(Counter(r["match"] for r in answerable if r["match"])),
        # continuous companions of contains_gold, for comparing configurations (gold answers are often
        # long sentences that a correct short answer only partly repeats)
        "f1_mean": _mean([r["f1"] for r in answerable]),
        "gold_token_recall_mean": _mean([r["gold_recall"] for r in answerable]),
        "gold_in_sources": share(answerable, lambda r: r["gold_in_sources"]),
        "citation_precision": round(sum(r["cited_gold"] for r in answerable) / cited, 3) if cited else None,
        "citations": cited, "inferred_citations": sum(r["inferred_citations"] for r in answerable),
        "answers_with_citation": share(answerable, lambda r: r["citations"]),
        "not_found_accuracy": share(unanswerable, lambda r: r["not_found"]),
        "false_not_found_rate": share(answerable, lambda r: r["not_found"]),
        "sources_only_rate": share(rows, lambda r: r["status"] == "sources_only"),
        "latency_ms": {"retrieval": lat("retrieval_ms"), "first_token": lat("first_token_ms"),
                       "total": lat("total_ms")},
    }


def print_answers(report: dict) -> None:
    r, a = report["retrieval"], report["answers"]
    llm = report["llm"]
    print(f"\ncorpus {report['corpus']}: {report['documents']} documents, {report['chunks']} chunks")
    print(f"questions {report['questions_file']}: {report['questions']} ({a['answerable']} answerable, "
          f"{a['unanswerable']} NOT_IN_CORPUS); model {llm['model']} at {llm['url']}, "
          f"window {llm['context_window']}, {report['seconds']:.0f}s in all")
    print(f"retrieval (hybrid)   R@1 {r['recall@1']:.3f}  R@5 {r['recall@5']:.3f}  R@10 {r['recall@10']:.3f}  "
          f"MRR@10 {r['mrr@10']:.3f}")
    rows = [
        ("contains gold answer", a["contains_gold"], f"by {a['contains_gold_by'] or '-'}"),
        ("token F1 (mean)", a["f1_mean"], "vs the gold answer"),
        ("gold-token recall (mean)", a["gold_token_recall_mean"], "share of gold answer tokens repeated"),
        ("gold page among sources", a["gold_in_sources"], ""),
        ("citation precision", a["citation_precision"],
         f"{a['citations']} citations, {a['inferred_citations']} inferred"),
        ("answers with a citation", a["answers_with_citation"], ""),
        ("not-found accuracy", a["not_found_accuracy"], "on NOT_IN_CORPUS questions"),
        ("false not-found rate", a["false_not_found_rate"], "on answerable questions"),
        ("sources-only rate", a["sources_only_rate"], "LLM down, too slow or unusable"),
    ]
    for name, value, note in rows:
        shown = "   n/a" if value is None else f"{value:6.3f}"
        print(f"{name:<26}{shown}  {note}")
    if report.get("grades"):
        print_grades(report["grades"])
    print(f"{'latency ms':<26}{'p50':>8} {'p95':>8}")
    for name, v in a["latency_ms"].items():
        print(f"  {name:<24}{v['p50']:>8.0f} {v['p95']:>8.0f}   (n={v['n']})")


def print_grades(g: dict) -> None:
    for name, key, note in (("accepted (hand-graded)", "accepted", "correct, on answerable questions"),
                            ("accepted or partial", "accepted_or_partial", ""),
                            ("wrong", "wrong", "on answerable questions"),
                            ("declined, answerable", "declined_answerable", "false not-found"),
                            ("declined, unanswerable", "declined_unanswerable", "not-found accuracy")):
        shown = "   n/a" if g[key] is None else f"{g[key]:6.3f}"
        print(f"{name:<26}{shown}  {note}")
    if g["ungraded"]:
        print(f"ungraded answers ({len(g['ungraded'])}): {', '.join(g['ungraded'])}")


__all__ = ["contains_gold", "normalise", "print_grades", "run_answers", "spread_sample", "summarise", "token_f1",
           "token_recall"]
