"""Build the model's context from search hits: pages in relevance order, their best passages, within budget.

Sources are pages (not chunks), numbered [1]..[n] by their best hit; a page's passages keep page order and
lose the words they share with the previous passage (chunks overlap). Titles, headings and passages stay raw
here: `prompts.format_sources` defangs every piece where it builds the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.answers.types import Source
from backend.llm import CHARS_PER_TOKEN, estimate_tokens
from backend.prompts import Passage, PromptSource
from backend.search import Hit

SOURCE_OVERHEAD_TOKENS = 24  # the <source n=".." title=".."> tags, title and separators of one page
MIN_PASSAGE_TOKENS = 40  # a passage cut shorter than this (~30 words) says too little to be worth its place
MAX_OVERLAP_WORDS = 80  # chunks overlap by Settings.chunk.overlap (40) words; look a little further

# HTML that Confluence exports and Markdown converters leave behind (only known tag names: `List<T>` stays).
# Passages are text any page author wrote, so every pattern is linear: a scan stops at the next `<` (or `[`) where
# the next match could start, instead of rescanning the same stretch from every `<` of "<!--<!--<!--..." (the
# lazy `.*?` forms took minutes on a 2 MB passage).
_HTML_TAG = re.compile(
    r"</?(?:a|span|div|p|br|hr|img|meta|table|thead|tbody|tr|td|th|ul|ol|li|strong|em|b|i|u|code|pre|sup|sub|"
    r"h[1-6]|font|col|colgroup|tt|blockquote)\b[^<>]{0,500}+>", re.I)
_HTML_COMMENT = re.compile(r"<!--(?:[^<-]++|-(?!->)|<(?!!--))*+-->")  # "<!-- a <!-- b -->" drops "<!-- b -->" only
# a row (at most 5000 characters: no runaway on a broken table) ends at its </tr>, never inside the next <tr>
_HTML_ROW = re.compile(r"<tr\b[^<>]{0,200}+>((?:[^<]|<(?!/?tr\b)){0,5000}+)</tr>", re.I)
# a cell ends at its </td>, or where the next cell starts (HTML lets authors leave cells unclosed)
_HTML_CELL = re.compile(r"<t[dh]\b[^<>]{0,200}+>((?:[^<]++|<(?!/?t[dh]\b))*+)(?:</t[dh]>)?", re.I)
_MD_LINK = re.compile(r"\[([^\[\]\n]{0,200}+)\]\((?:https?://|www\.)[^)\[\]\s]{0,500}+\)")  # [text](url) -> text
_MD_ESCAPE = re.compile(r"\\([\[\]_*#`|<>()-])")
_RULE = re.compile(r"-{4,}")  # table separators |-----|-----|
_NESTED_BULLET = re.compile(r"^(?:[ \t]*-[ \t]+)+(?=-?[ \t]*\S)", re.M)  # "- - item" -> "- item"
_BLANK_LINES = re.compile(r"\n{2,}")  # blank lines cost a token each and separate nothing a model needs


@dataclass
class _Page:
    source: Source
    # (chunk no, raw text, heading path, max chars when cut to the budget)
    passages: list[tuple[int, str, list[str], int | None]] = field(default_factory=list)


@dataclass
class Context:
    sources: list[Source]
    prompt_sources: list[PromptSource]  # raw: prompts.answer_messages defangs them and collects the payloads
    tokens: int  # estimated tokens of the sources block
    passages: int


def assemble(hits: Sequence[Hit], budget_tokens: int, max_sources: int, max_passages: int) -> Context:
    """Pick passages in hit order until `budget_tokens` (estimated) or the page/passage caps are reached."""
    pages: dict[str, _Page] = {}
    seen_text: set[str] = set()
    used = 0
    for hit in hits:
        page = pages.get(hit.doc_id)
        if page is None and len(pages) >= max_sources:
            continue
        if page is not None and len(page.passages) >= max_passages:
            continue
        key = _norm(hit.text)
        if not key or key in seen_text:  # the same text indexed twice (copied pages, re-chunked duplicates)
            continue
        text = compact(hit.text)
        limit = None
        cost = estimate_tokens(text) + (SOURCE_OVERHEAD_TOKENS if page is None else 0)
        if used + cost > budget_tokens:
            room = budget_tokens - used - (SOURCE_OVERHEAD_TOKENS if page is None else 0)
            if room < MIN_PASSAGE_TOKENS:
                if used:
                    break  # full: later hits rank lower anyway
                continue
            limit = int(room * CHARS_PER_TOKEN)  # the inverse of llm.estimate_tokens; cut after the defence
            cost = estimate_tokens(text[:limit]) + (SOURCE_OVERHEAD_TOKENS if page is None else 0)
        seen_text.add(key)
        if page is None:
            n = len(pages) + 1
            page = pages[hit.doc_id] = _Page(Source(n, hit.title or hit.doc_id, hit.url, hit.doc_id, hit.snippet))
        page.passages.append((_chunk_no(hit.chunk_id), text, hit.heading_path, limit))
        used += cost
    prompt_sources = [PromptSource(p.source.n, p.source.title, p.source.url, _ordered(p.passages, p.source.title))
                      for p in pages.values()]
    return Context([p.source for p in pages.values()], prompt_sources, used,
                   sum(len(p.passages) for p in pages.values()))


def _ordered(passages: list[tuple[int, str, list[str], int | None]], title: str) -> list[Passage]:
    """Passages in page order, each with its section when it changes (and is not just the title),
    overlaps removed (not after a passage cut to the budget: its end, the overlap, is not shown)."""
    out: list[Passage] = []
    prev_no, prev_text, prev_path, prev_cut = -2, "", None, False
    for no, text, path, limit in sorted(passages, key=lambda p: p[0]):
        if no == prev_no + 1 and not prev_cut:
            text = _drop_overlap(prev_text, text)
        named = path and path != prev_path and _norm(" ".join(path)) != _norm(title)
        if text.strip():
            out.append(Passage(text, list(path) if named else [], limit))
        prev_no, prev_text, prev_path, prev_cut = no, text, path, limit is not None
    return out


def compact(text: str) -> str:
    """The passage without what costs tokens and tells the model nothing: HTML chrome, link targets,
    Markdown escapes, indentation, padding in tables. Wiki minutes shrink by about a third."""
    text = _HTML_COMMENT.sub(" ", text)
    text = _HTML_ROW.sub(_row, text)
    text = _HTML_TAG.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _RULE.sub("---", text)
    text = _NESTED_BULLET.sub("- ", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n", text).strip()


def _row(m: re.Match) -> str:
    """An HTML table row as one line, "cell | cell | cell" (a row per line reads like the Markdown tables)."""
    cells = [" ".join(_HTML_TAG.sub("", c).split()) for c in _HTML_CELL.findall(m.group(1))]
    return " | ".join(cells) + "\n" if cells else m.group(0)


def _drop_overlap(previous: str, text: str) -> str:
    """Remove from `text` the leading words it repeats from the end of `previous` (chunk overlap)."""
    a, b = previous.split(), text.split()
    for m in range(min(MAX_OVERLAP_WORDS, len(a), len(b)), 4, -1):  # 5+ words: shorter matches are chance
        if a[-m:] == b[:m]:
            return " ".join(b[m:])
    return text


def _chunk_no(chunk_id: str) -> int:
    tail = chunk_id.rsplit("#", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
