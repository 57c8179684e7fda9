"""Can the asker's pages hold the answer at all? Two checks made before the model is asked.

Small models rarely decline: given five related pages, the 1.5B answered all four unanswerable questions of a
hand-graded set (it "cancelled a 2022 meeting" for a question about 2018), the 0.5B three of four. Both checks
below look for what a question *names* and the pages lack, and answer "not found" saying what is missing, so the
asker can rephrase:

- `unknown_words`: a content word of the question that no page the asker can open contains, anywhere (one
  `size: 0` search per word, the asker's ACL applied, within one edit for words of 5+ letters so that a typo is
  not taken for a missing fact), once the asker can open enough pages for absence to mean something:
  "salary", "stipend" or "Copilot" in a wiki that never uses them. A word that
  *is* in the wiki somewhere is left to retrieval and the model: a paraphrase ("lose my merge rights") must
  still reach the page that says it differently.
- `missing_figures`: a year or other figure of two or more digits (2018, 3.0.0, v1.4) that none of the retrieved
  passages, titles or links contains: the pages found are about another year or version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backend.acl import Audience, acl_filter
from backend.es import translated
from backend.index import analysis
from backend.search import Hit, Searcher

MIN_WORD_CHARS = 3  # shorter words are mostly abbreviations or noise ("q3", "am")
FUZZY_FROM_CHARS = 5  # from this length a word may differ by one edit ("Hyperleger" is not a missing fact)
MAX_WORDS = 12  # a long question is checked on its first words only: one search each
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_FIGURE = re.compile(r"\b[vV]?(\d+(?:[.,]\d+)*)\b")

# words that say what kind of answer is wanted, or that any question may use without the pages saying them
GENERIC = frozenset(
    "who whom whose what which when where why how many much did does do done was were has have had can could "
    "should would will shall may might must ever anyone someone something anything tell know please need needs "
    "our your you yours mine ours their them they she her him his its it's there here this that those these "
    "with from into about over under after before during between also just only very still yet again "
    "get got make made take took give gave say said go went come came use used want wants like "
    # when: a question's framing, which a page states as a date
    "early mid late first last next previous new old current recent recently latest ago today yesterday "
    "tomorrow now then soon year years month months week weeks day days time times back".split()
)


def unknown_words(searcher: Searcher, question: str, identities: Sequence[str] | Audience,
                  min_chunks: int = 1000) -> list[str]:
    """The question's content words that no page the asker may open contains (in its title or text).

    Only over at least `min_chunks` visible chunks: absence from a handful of pages says nothing about a word
    ("happen" in ten pages), while a wiki of a hundred pages or more uses every common word somewhere."""
    words = []
    for w in _WORD.findall(question):
        low = w.lower()
        if (len(low) < MIN_WORD_CHARS or low in GENERIC or low in analysis.STOP_WORDS or "'" in low or "’" in low
                or low in (x.lower() for x in words)):
            continue
        words.append(w)
    words = words[:MAX_WORDS]
    if not words:
        return []
    python_stems = searcher.stemming() == analysis.PYTHON
    visible = {"size": 0, "track_total_hits": min_chunks, "query": {"bool": {"filter": [acl_filter(identities)]}}}
    searches: list[dict] = [{"index": searcher.alias}, visible]
    asked: list[str] = []
    for w in words:
        text = analysis.stems(w) if python_stems else w
        if not text:
            continue  # a stop word for the index: nothing to look for
        fields = ["title_stems", "text_stems"] if python_stems else ["title", "text"]
        fuzzy = 1 if len(w) >= FUZZY_FROM_CHARS else 0
        body = {"size": 0, "terminate_after": 1, "track_total_hits": 1,
                "query": {"bool": {"filter": [acl_filter(identities)],
                                   "must": [{"multi_match": {"query": text, "fields": fields, "fuzziness": fuzzy}}]}}}
        searches += [{"index": searcher.alias}, body]
        asked.append(w)
    if not asked:
        return []
    with translated(searcher.es, "checking the question's words"):
        responses = searcher.es.msearch(searches=searches)["responses"]
    if "error" in responses[0] or _total(responses[0]) < min_chunks:
        return []
    return [w for w, r in zip(asked, responses[1:], strict=True) if "error" not in r and _total(r) == 0]


def missing_figures(question: str, hits: Sequence[Hit]) -> list[str]:
    """Figures of 2+ digits in the question (years, versions) found in none of the retrieved hits."""
    figures = [m.group(1) for m in _FIGURE.finditer(question) if len(re.sub(r"\D", "", m.group(1))) >= 2]
    if not figures or not hits:
        return []
    haystack = " ".join(f"{h.title} {h.url} {h.doc_id} {' '.join(h.heading_path)} {h.text}" for h in hits)
    present = set(re.findall(r"\d+(?:[.,]\d+)*", haystack))
    return [f for f in dict.fromkeys(figures) if f not in present and f.replace(",", "") not in present]


def _total(resp: dict) -> int:
    total = resp.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


__all__ = ["missing_figures", "unknown_words"]
