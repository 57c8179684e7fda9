"""Sharper context for small models: from the best pages, only the lines that carry the question's terms.

`context.assemble` gives the model whole passages (three of ~200 words for each of five pages, ~3-4k tokens):
a 0.5B or 1.5B model then takes a date or a name from a neighbouring passage, and a CPU spends most of the
answer's time reading the prompt. `assemble_focused` keeps the same pages, numbered the same way, but from
their passages only the *units* that hold the question's terms, each with the lines under it:

- a unit is a logical line of the passage (a bullet, a table row, a paragraph with its wrapped lines joined),
  split further into sentences when it is long;
- a unit scores the summed weight of the question's stems it contains; a stem's weight is its inverse
  frequency among the candidate units, so "chaintool" counts and "TSC" barely does; of two equal scores the
  shorter unit wins (the terms are denser there);
- a short unit's children (the indented bullets under "Nominations for TSC Chair attached", the lines after
  "They are:") come with it: that is where lists of names, dates and votes sit;
- each page first gets its best unit (pages stay in relevance order), then the best remaining units of any page
  until the budget; units keep page order, and gaps between them are shown as "...".

A page whose passages share no term with the question (a dense-only match) still gives its opening lines, so
a paraphrased question keeps what the embedding found.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.answers.context import SOURCE_OVERHEAD_TOKENS, Context, compact
from backend.answers.types import Source
from backend.index.analysis import stems
from backend.llm import estimate_tokens
from backend.prompts import Passage, PromptSource
from backend.search import Hit

# words of a question that say what kind of answer is wanted, not what it is about
QUESTION_WORDS = frozenset(
    "who whom whose what which when where why how many much did does do done was were is are has have had "
    "can could should would will shall may might must ever any anyone someone something tell know please "
    "i me my we our us you your".split()
)
LONG_UNIT_WORDS = 60  # a logical line longer than this is split into sentences
PARENT_MAX_WORDS = 20  # a line announcing a list is short ("Nominations for TSC Chair attached")
MAX_CHILDREN = 6  # indented lines kept under a matching unit (a list of nominees, votes, action items)
MIN_UNIT_TOKENS = 3  # "-", "**Agenda:**" alone tell the model nothing
OPENING_WORDS = 60  # a page that matched no term shows this much of its best passage
TOP_HIT_SHARE = 0.4  # the best hit's passage is given whole, up to this share of the budget
HEADING_WEIGHT = 0.5  # a question term in the unit's section heading counts half ("Maintainer Diversity")
MIN_PREFIX_WORDS = 4  # a shorter repeated start is chance ("- The TSC"), not the chunk overlap
FLAT_LINE_WORDS = 30  # a line this long with two or more " - " bullets inside is several lines joined
REST_MIN_SHARE = 0.35  # after each page's best unit, only units scoring this share of the best unit's score
# A page's best unit below this share of the top unit's score: the page's title only. Between the two cases
# measured: the stray "eleven (11) elected ... Maintainers" line the 1.5B once answered the tests' IBM/DAH
# question from scores 0.25-0.3 of the top; lwq-019's "Vote passes, seven aye" line is dropped from 0.32. The
# evidence quotes of the other 47 wiki questions are in the context alike anywhere from 0 to 0.32.
PAGE_BEST_MIN_SHARE = 0.3
_INLINE_BULLET = re.compile(r"\s+(?=[-*•]\s+\S)")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|\||#|\*\*)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass
class _Unit:
    page: int  # the page's rank, 0-based
    chunk: int  # the hit's rank
    index: int  # position in the chunk
    indent: int
    text: str
    stems: frozenset[str]
    score: float = 0.0
    section: tuple[str, ...] = ()
    heading_stems: frozenset[str] = frozenset()


@dataclass
class _PageUnits:
    source: Source
    units: list[_Unit] = field(default_factory=list)  # every unit of the page's passages, in hit-then-line order


def question_stems(question: str) -> list[str]:
    """The question's content stems (Porter, as the BM25 leg stems), question words and stop words left out."""
    words = [w for w in re.findall(r"\w+(?:['’.]\w+)*", question.lower()) if w not in QUESTION_WORDS]
    return list(dict.fromkeys(stems(" ".join(words)).split()))


def assemble_focused(hits: Sequence[Hit], question: str, budget_tokens: int, max_sources: int) -> Context:
    """The model's context as the question's lines from the best `max_sources` pages, within `budget_tokens`."""
    pages: dict[str, _PageUnits] = {}
    chunk_rank = 0
    seen: set[str] = set()
    for hit in hits:
        if hit.doc_id not in pages:
            if len(pages) >= max_sources:
                continue
            n = len(pages) + 1
            pages[hit.doc_id] = _PageUnits(Source(n, hit.title or hit.doc_id, hit.url, hit.doc_id, hit.snippet))
        page = pages[hit.doc_id]
        for unit in _units(hit.text, page.source.n - 1, chunk_rank, tuple(hit.heading_path)):
            if _dedupe(unit, seen):  # chunks overlap: a line shared by two passages is one unit
                page.units.append(unit)
        chunk_rank += 1
    terms = question_stems(question)
    _score([u for p in pages.values() for u in p.units], terms)
    chosen = _select(list(pages.values()), budget_tokens)
    prompt_sources, used, passages = [], 0, 0
    for page in pages.values():
        units = sorted((u for u in page.units if id(u) in chosen), key=lambda u: (u.chunk, u.index))
        groups = _groups(units, page.source.title)
        passages += len(groups)
        prompt_sources.append(PromptSource(page.source.n, page.source.title, page.source.url, groups))
        used += SOURCE_OVERHEAD_TOKENS + sum(estimate_tokens(p.text) for p in groups)
    return Context([p.source for p in pages.values()], prompt_sources, used, passages)


def _units(raw: str, page: int, chunk: int, section: tuple[str, ...]) -> list[_Unit]:
    """Logical lines of a passage (wrapped lines joined), long ones cut into sentences, each compacted."""
    lines: list[tuple[int, str]] = []
    for line in raw.splitlines():
        if not line.strip():
            lines.append((0, ""))
            continue
        indent = len(line) - len(line.lstrip())
        if lines and lines[-1][1] and not _BULLET.match(line):  # Markdown: a paragraph's lines, a bullet's wrap
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {line.strip()}")  # a wrapped continuation
        else:
            lines.append((indent, line.rstrip()))
    heading = frozenset(stems(" ".join(section)).split())
    out: list[_Unit] = []
    for indent, line in _unflatten(lines):
        text = compact(line)
        if estimate_tokens(text) < MIN_UNIT_TOKENS or not re.search(r"\w", text):
            continue
        pieces = _SENTENCE.split(text) if len(text.split()) > LONG_UNIT_WORDS else [text]
        for piece in pieces:
            out.append(_Unit(page, chunk, len(out), indent, piece, frozenset(stems(piece).split()),
                             section=section, heading_stems=heading))
    return out


def _dedupe(unit: _Unit, seen: set[str]) -> bool:
    """False for a line already taken; a line that starts with one (the overlap's last line running on into the
    new chunk's words) keeps only what follows it."""
    key = " ".join(unit.text.lower().split())
    if key in seen:
        return False
    words = unit.text.split()
    for n in range(len(words) - 1, MIN_PREFIX_WORDS - 1, -1):
        if " ".join(words[:n]).lower() in seen:
            unit.text = " ".join(words[n:])
            unit.stems = frozenset(stems(unit.text).split())
            key = " ".join(unit.text.lower().split())
            break
    seen.add(key)
    return True


def _unflatten(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A long line holding several inline bullets ("... ASAP. - Process for ... - **Begin ...") split at them:
    the chunker joins the words a chunk repeats from the previous one into one line."""
    out = []
    for indent, line in lines:
        if len(line.split()) > FLAT_LINE_WORDS and len(_INLINE_BULLET.findall(line)) >= 2:
            out += [(indent, piece) for piece in _INLINE_BULLET.split(line) if piece.strip()]
        else:
            out.append((indent, line))
    return out


def _score(units: list[_Unit], terms: list[str]) -> None:
    """Each unit's score: the inverse-frequency weights of the question stems it holds (rarer counts more)."""
    if not units or not terms:
        return
    n = len(units)
    weight = {}
    for t in terms:
        df = sum(1 for u in units if t in u.stems)
        weight[t] = math.log(1 + n / (1 + df)) if df else 0.0
    for u in units:
        heading = u.heading_stems - u.stems
        u.score = (sum(weight[t] for t in terms if t in u.stems)
                   + HEADING_WEIGHT * sum(weight[t] for t in terms if t in heading))


def _select(pages: list[_PageUnits], budget: int) -> set[int]:
    """ids of the chosen units: each page's best unit with its children first, then the best of the rest."""
    chosen: set[int] = set()
    used = 0

    def take(page: _PageUnits, unit: _Unit) -> bool:
        nonlocal used
        block = [unit, *_children(page.units, unit)]
        fresh = [u for u in block if id(u) not in chosen]
        cost = sum(estimate_tokens(u.text) + 1 for u in fresh)
        if not fresh or used + cost > budget:
            return False
        chosen.update(id(u) for u in fresh)
        used += cost
        return True

    if pages and pages[0].units:  # the best hit whole: the answer is most often in it, in words the question lacks
        for u in [u for u in pages[0].units if u.chunk == pages[0].units[0].chunk]:
            if used >= budget * TOP_HIT_SHARE:
                break
            take(pages[0], u)
    top = max((u.score for p in pages for u in p.units), default=0.0)
    for page in pages:  # relevance order: the first page's best unit first
        used += SOURCE_OVERHEAD_TOKENS
        if not page.units:
            continue
        best = max(page.units, key=lambda u: (u.score, -len(u.text), -u.chunk, -u.index))
        if best.score >= PAGE_BEST_MIN_SHARE * top:
            take(page, best)
        elif best.score > 0:
            continue  # a stray shared word ("eleven Maintainers" for a question about maintainers): the title only
        else:  # a dense-only match: its best passage's opening
            opening = [u for u in page.units if u.chunk == page.units[0].chunk]
            words = 0
            for u in opening:
                if words >= OPENING_WORDS or not take(page, u):
                    break
                words += len(u.text.split())
    rest = sorted(((u, p) for p in pages for u in p.units
                   if u.score > 0 and u.score >= REST_MIN_SHARE * top and id(u) not in chosen),
                  key=lambda up: (-up[0].score, len(up[0].text), up[0].page, up[0].chunk, up[0].index))
    for unit, page in rest:
        if used >= budget:
            break
        take(page, unit)
    return chosen


def _children(units: list[_Unit], parent: _Unit) -> list[_Unit]:
    """The lines indented under `parent` in its chunk (up to MAX_CHILDREN), stopping at the first that is not."""
    out: list[_Unit] = []
    same = [u for u in units if u.chunk == parent.chunk]
    start = next(i for i, u in enumerate(same) if u is parent) + 1
    lead = parent.text.rstrip().endswith(":")  # "They are:" announces the lines that follow, indented or not
    if not lead and len(parent.text.split()) > PARENT_MAX_WORDS:
        return out  # a long line's indented followers are a discussion, not a list it announces
    for u in same[start:]:
        if len(out) >= MAX_CHILDREN or u.section != parent.section or (u.indent <= parent.indent and not lead):
            break
        out.append(u)
    return out


def _groups(units: list[_Unit], title: str) -> list[Passage]:
    """Consecutive units of one chunk form one passage; a gap (or another chunk) starts the next."""
    out: list[Passage] = []
    prev: _Unit | None = None
    lines: list[str] = []
    section: tuple[str, ...] = ()
    for u in units:
        if prev is not None and (u.chunk != prev.chunk or u.index != prev.index + 1):
            out.append(Passage("\n".join(lines), list(section)))
            lines = []
        if not lines:
            section = u.section
        lines.append(u.text)
        prev = u
    if lines:
        out.append(Passage("\n".join(lines), list(section)))
    return _named_sections(out, title)


def _named_sections(passages: list[Passage], title: str) -> list[Passage]:
    """A passage shows its section only where it changes from the previous passage's and is not the title."""
    prev = None
    for p in passages:
        current = tuple(p.section)
        if current == prev or _flat(" ".join(current)) == _flat(title):
            p.section = []
        prev = current
    return passages


def _flat(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


__all__ = ["assemble_focused", "question_stems"]
