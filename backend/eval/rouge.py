"""ROUGE-1, ROUGE-2 and ROUGE-L (Lin, 2004) as Google's `rouge-score` computes them, without stemming.

Tokens: lower-cased text with every run of characters other than a-z and 0-9 turned into a space
(rouge-score's default tokenizer). ROUGE-N: clipped n-gram overlap over the candidate's n-grams
(precision) and the reference's (recall); ROUGE-L: the longest common subsequence of tokens.
F is their harmonic mean. `rouge-score` needs nltk for stemming only; we report unstemmed scores, which
are what `RougeScorer(..., use_stemmer=False)` gives (tests pin its figures on known pairs).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    fmeasure: float


def tokenize(text: str) -> list[str]:
    return _NON_ALNUM.sub(" ", (text or "").lower()).split()


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _score(overlap: int, candidate_total: int, reference_total: int) -> Score:
    precision = overlap / max(candidate_total, 1)
    recall = overlap / max(reference_total, 1)
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Score(precision, recall, f)


def rouge_n(reference: list[str], candidate: list[str], n: int) -> Score:
    ref, cand = _ngrams(reference, n), _ngrams(candidate, n)
    overlap = sum(min(count, cand[gram]) for gram, count in ref.items())
    return _score(overlap, sum(cand.values()), sum(ref.values()))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence, O(len(a) * len(b)) time and O(len(b)) memory."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(reference: list[str], candidate: list[str]) -> Score:
    return _score(lcs_length(reference, candidate), len(candidate), len(reference))


def rouge(reference: str, candidate: str) -> dict[str, Score]:
    """{"rouge1", "rouge2", "rougeL"} of `candidate` against `reference` (rouge-score's argument order)."""
    ref, cand = tokenize(reference), tokenize(candidate)
    return {"rouge1": rouge_n(ref, cand, 1), "rouge2": rouge_n(ref, cand, 2), "rougeL": rouge_l(ref, cand)}
