"""Check the model's text before anyone sees it: citations, not-found, declines, garbage, injected payloads.

Small models cite sloppily ("[Source 2]", "[7]" with 3 sources, "[1-3]"): valid numbers are normalised to
[n], the rest removed. Bracketed numbers above MAX_SOURCE_NUMBER are left alone (years like [2016]).
A reply with no citation at all gets them inferred per sentence from word overlap with the sources
(`attribute`), flagged as inferred: the 0.5B model answers correctly but rarely cites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.prompts import NOT_FOUND, SOURCES_INTRO

ANSWER = "answer"
DECLINED = "not_found"
GARBAGE = "garbage"
HIJACKED = "hijacked"

MAX_SOURCE_NUMBER = 99  # a bracketed number above this is data (a year, an id), not a citation
SHORT_DECLINE_CHARS = 240  # a decline phrase in a reply this short is the whole reply, citations or not
LOOP_MIN_WORDS = 30  # below this a repetitive reply may be a legitimate list
LOOP_UNIQUE_RATIO = 0.15  # fewer distinct words than this share: the model is looping

_NUM = r"\d+"
_SEP = r"\s*(?:,|;|and|&|-|–)\s*(?:(?:sources?|docs?|pages?)\s*)?"
_CITATION = re.compile(
    rf"\s?[\[【]\s*(?:(?:sources?|docs?|documents?|pages?)\s*#?\s*)?({_NUM}(?:{_SEP}{_NUM})*)\s*[\]】]", re.I
)
_DECLINE = re.compile(
    r"\b(?:sources?|context|documents?|pages?|provided (?:text|information|material))\b[^.]{0,30}"
    r"\b(?:do(?:es)?(?: not|n't)|did(?: not|n't))\s+(?:contain|mention|provide|include|say|specify|state|cover)"
    r"|\bno (?:relevant )?information (?:about|on|regarding|is (?:given|provided))"
    r"|\b(?:i )?(?:could not|couldn't|cannot|can't|am unable to|was unable to|am not able to)\s+"
    r"(?:find|determine|answer|locate|tell)"
    r"|\bnot (?:mentioned|specified|provided|stated|given|found) in the (?:sources|context|pages|documents)"
    r"|\bi (?:do not|don't) know\b|\bthere is no (?:mention|information)\b",
    re.I,
)
# a citation placeholder copied from instructions ("[n]"), and the empty pointer sentence it leaves behind
_PLACEHOLDER = re.compile(r"\s?\[(?:n|x|number|source(?: number)?|source n|\.\.\.|…)\]", re.I)
_EMPTY_POINTER = re.compile(
    r"\s*\b(?:this|it|which)\s+(?:information\s+)?(?:can be|is|was)\s+(?:found|mentioned|stated|seen)\s+in"
    r"(?:\s+(?:and|the|sources?|,))*\s*[.]", re.I)
_FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_LEAD = re.compile(r"^\s*(?:answer|lore|assistant)\s*:\s*", re.I)


# attribution: a sentence is supported by a source holding this share of its content words (>= MIN_WORDS)
SUPPORT_SHARE = 0.6
SUPPORT_MIN_WORDS = 3
RECHECK_MARGIN = 0.2  # a model citation is moved only to a page that holds clearly more of the sentence
_STOP = frozenset(
    "the a an and or but of to in on at by for with from as is are was were be been being it its this that these "
    "those there their they them he she his her we our you your i me my not no yes do does did done have has had "
    "will would can could should may might must shall about into over under than then so such also which who whom "
    "what when where why how all any each both some more most other only own same very just "
    # words about the sources rather than from them ("According to the information provided in the sources")
    "according information provided based source sources context page pages document documents mentioned".split()
)


@dataclass
class Checked:
    text: str  # what may be shown: citations normalised, invalid ones removed
    cited: list[int] = field(default_factory=list)  # valid source numbers, in order of first use
    dropped: list[str] = field(default_factory=list)  # citation markers removed as out of range
    verdict: str = ANSWER  # answer | not_found | garbage | hijacked
    inferred: list[int] = field(default_factory=list)  # numbers added by `attribute`, not written by the model
    unsupported: list[str] = field(default_factory=list)  # figures absent from the pages their sentence cites


def check(raw: str, n_sources: int, payloads: Sequence[str] = (), question: str = "",
          source_texts: Sequence[str] = ()) -> Checked:
    """`source_texts[i]` is the text of source i+1 as the model saw it (for attribution; optional)."""
    text = _LEAD.sub("", (raw or "").strip())
    if _is_garbage(text):
        return Checked(text, verdict=GARBAGE)
    if _hijacked(text, payloads, question):
        return Checked(text, verdict=HIJACKED)
    text, cited, dropped = fix_citations(text, n_sources)
    flat = _norm(text)
    if _norm(NOT_FOUND) in flat and not cited:
        return Checked(NOT_FOUND, dropped=dropped, verdict=DECLINED)
    if _DECLINE.search(text) and (not cited or len(text) <= SHORT_DECLINE_CHARS):
        return Checked(NOT_FOUND, dropped=dropped, verdict=DECLINED)
    if sum(ch.isalpha() for ch in text) < 2:  # nothing left but citation marks or digits
        return Checked(text, dropped=dropped, verdict=GARBAGE)
    inferred: list[int] = []
    if not cited and source_texts:
        text, cited = attribute(text, source_texts)
        inferred = list(cited)
    elif source_texts:
        text, cited, inferred = recheck(text, source_texts)
    unsupported = unsupported_figures(text, source_texts, question) if source_texts else []
    return Checked(text, cited, dropped, ANSWER, inferred, unsupported)


def unsupported_figures(text: str, source_texts: Sequence[str], question: str = "") -> list[str]:
    """Figures of two or more digits in a cited sentence that none of its cited pages contains (nor the
    question): the classic made-up fact ("$1,000 per quarter" [2]). Single digits are skipped ("three")."""
    pages = [_figures(t) for t in source_texts]
    asked = _figures(question)
    missing: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if 1 <= int(n) <= len(pages)]
        if not nums:
            continue
        seen = set().union(*(pages[n - 1] for n in nums)) | asked
        for shown, value in _figure_list(re.sub(r"\[\d+\]", " ", sentence)):
            if len(value.replace(".", "")) >= 2 and value not in seen and shown not in missing:
                missing.append(shown)
    return missing


def _figure_list(text: str) -> list[tuple[str, str]]:
    """(as written, normalised) for each figure: "1,000" -> "1000", "8.7" stays, "v2.2" -> "2.2"."""
    return [(m, m.replace(",", "")) for m in _FIGURE.findall(text)]


def _figures(text: str) -> set[str]:
    return {v for _, v in _figure_list(text)}


def recheck(text: str, source_texts: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """Move a model citation to the page that really holds the sentence: when the cited pages share few of
    its words (< SUPPORT_SHARE) and another page shares most (>= SUPPORT_SHARE, RECHECK_MARGIN more).
    Small models answer from the right passage and then cite a neighbour's number (1.5B: 16 of 26
    citations on the wiki dev set named a page other than the gold one). Returns text, cited, corrected."""
    vocab = [content_words(t) for t in source_texts]
    cited: list[int] = []
    corrected: list[int] = []
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])(\s+)", text):
        marks = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        words = content_words(re.sub(r"\[\d+\]", " ", sentence))
        if marks and len(words) >= SUPPORT_MIN_WORDS:
            shares = _shares(words, vocab)
            held = max(shares[n - 1] for n in marks)
            best = max(range(len(shares)), key=lambda i: (shares[i], -i))
            if held < SUPPORT_SHARE <= shares[best] and shares[best] - held >= RECHECK_MARGIN:
                sentence = _cite(re.sub(r"[ \t]*\[\d+\]", "", sentence), best + 1)
                marks = [best + 1]
                corrected += [] if best + 1 in corrected else [best + 1]
        cited += [n for n in dict.fromkeys(marks) if n not in cited]
        out.append(sentence)
    return "".join(out), cited, [n for n in corrected if n in cited]


def _shares(words: set[str], vocab: Sequence[set[str]]) -> list[float]:
    """Share of `words` each page holds; 0 for a page lacking one of the sentence's numbers."""
    numbers = {w for w in words if w.isdigit()}
    return [len(words & v) / len(words) if numbers <= v else 0.0 for v in vocab]


def attribute(text: str, source_texts: Sequence[str]) -> tuple[str, list[int]]:
    """Append [n] to each sentence whose content words are mostly (SUPPORT_SHARE) found in source n, every
    number of the sentence included (a number is the fact most often made up: "$100" needs a "100").

    Ties go to the lower number (the more relevant page). Sentences without support stay uncited.
    """
    vocab = [content_words(t) for t in source_texts]
    cited: list[int] = []
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])(\s+)", text):
        words = content_words(sentence)
        if len(words) >= SUPPORT_MIN_WORDS:
            shares = _shares(words, vocab)
            best = max(range(len(shares)), key=lambda i: (shares[i], -i), default=None)
            if best is not None and shares[best] >= SUPPORT_SHARE:
                n = best + 1
                cited += [] if n in cited else [n]
                sentence = _cite(sentence, n)
        out.append(sentence)
    return "".join(out), cited


def _cite(sentence: str, n: int) -> str:
    """`sentence` with [n] before its final punctuation, trailing whitespace kept."""
    stripped = sentence.rstrip()
    end = len(stripped) - 1 if stripped and stripped[-1] in ".!?" else len(stripped)
    return f"{stripped[:end].rstrip()} [{n}]{stripped[end:]}{sentence[len(stripped):]}"


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if (len(w) > 2 or w.isdigit()) and w not in _STOP}


def fix_citations(text: str, n_sources: int) -> tuple[str, list[int], list[str]]:
    """Rewrite every citation group as [a][b] with valid numbers only; drop groups with none."""
    cited: list[int] = []
    dropped: list[str] = []

    def repl(m: re.Match) -> str:
        nums = _numbers(m.group(1))
        if any(n > MAX_SOURCE_NUMBER for n in nums):
            return m.group(0)  # not a citation: a year or an id in brackets
        valid = [n for n in nums if 1 <= n <= n_sources]
        if len(valid) < len(nums):
            dropped.append(m.group(0).strip())
        for n in valid:
            if n not in cited:
                cited.append(n)
        if not valid:
            return ""
        lead = " " if m.group(0)[:1].isspace() else ""
        return lead + "".join(f"[{n}]" for n in dict.fromkeys(valid))

    fixed = _EMPTY_POINTER.sub("", _PLACEHOLDER.sub("", text))
    fixed = _CITATION.sub(repl, fixed)
    # "...in 2016. [1]" -> "...in 2016 [1]." so that the citation belongs to its sentence
    fixed = re.sub(r"([.!?])[ \t]*((?:\[\d+\])+)", r" \2\1", fixed)
    fixed = re.sub(r"[ \t]+([.,;:!?])", r"\1", fixed)  # "word [9]." lost its citation: no space before "."
    return fixed.strip(), cited, dropped


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for m in re.finditer(rf"({_NUM})\s*[-–]\s*({_NUM})|({_NUM})", group):
        if m.group(3):
            out.append(int(m.group(3)))
        else:
            lo, hi = int(m.group(1)), int(m.group(2))
            # a range: only when small and ascending, else read the two ends as two numbers
            out.extend(range(lo, hi + 1) if 0 < hi - lo <= 10 else (lo, hi))
    return out


def _is_garbage(text: str) -> bool:
    if sum(ch.isalnum() for ch in text) < 2:
        return True
    if SOURCES_INTRO[:20] in text or re.search(r"<source\s+n=", text):
        return True  # the model echoed the prompt's scaffolding
    if text.count("\ufffd") > max(3, len(text) // 20):
        return True  # broken decoding
    words = text.lower().split()
    return len(words) >= LOOP_MIN_WORDS and len(set(words)) / len(words) < LOOP_UNIQUE_RATIO


def _hijacked(text: str, payloads: Sequence[str], question: str) -> bool:
    """The answer says what an injected line asked for (and the asker did not ask for it themselves)."""
    flat, asked = _norm(text), _norm(question)
    for p in payloads:
        np_ = _norm(p)
        if len(np_) >= 2 and re.search(rf"\b{re.escape(np_)}\b", flat) and np_ not in asked:
            return True
    return False


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()
