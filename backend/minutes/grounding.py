"""Minutes say only what the transcript supports: statements whose content words nobody said are dropped.

A small model writes fluent, plausible minutes, including things nobody said (the 11-second JFK quote came
back as a meeting about "the challenges Americans face and how to overcome them"). Each summary sentence,
decision, action item and open question is reduced to its content words (stop words and the generic words of
minutes removed, Porter-stemmed); the share of them that the transcript also has, by stem or shared prefix
("decided" ~ "decision"), is its support. Below MIN_SUPPORT the statement is dropped and counted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from backend.minutes.extractive import STOPWORDS
from backend.minutes.notes import Notes
from backend.minutes.types import Segment

# Chosen on the real minutes the 0.5B model wrote (LORE_LLM_URL :8080, `python -m backend.minutes summarize`) of
# TS3004b_92-127.wav (its 36 reference turns), jfk.wav and ~450-word excerpts of QMSum's ES2006a and Bro011: the
# 11 statements about what was said scored 0.75-1.0 (0.75: "Professor C proposed a stricter approach to
# downsampling by two", "approach" unsaid); the 3 invented JFK ones 0.0, 0.4 and 0.5 ("Americans" and "country"
# were said, "challenges", "face", "overcome" were not). 0.6 sits in that gap: of 3-4 content words all but one
# must have been said, of 2 both, of 5 three.
MIN_SUPPORT = 0.6
MIN_PREFIX = 4  # two stems sharing fewer letters than this are different words ("deci": decided ~ decision)

# The words minutes use about any meeting: they say nothing about what this one was about, so a statement is
# neither supported nor refuted by them ("The team discussed the budget" is about "budget").
GENERIC = frozenset("""meeting meetings discuss discussed discusses discussing discussion discussions talk talked
talking talks conversation call session team teams group participant participants speaker speakers member members
attendee attendees everyone someone people person agreed agree agrees agreement decide decided decides decision
decisions mention mentioned mentions topic topics question questions ask asked asking action actions item items
task tasks plan plans planned planning next step steps need needs needed important various overall summary
summarize summarized update updates review reviewed point points highlighted highlight emphasized emphasize
noted note notes explained explain suggested suggest proposed propose presented present shared share raised
raise regarding including include includes also future current currently discussed focus focused focusing
follow following ensure provide provided provides related regard overview brief briefly general several
specific aspects aspect part parts transcript""".split())

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_local = threading.local()  # a PyStemmer object is not thread-safe: one per thread


@lru_cache(maxsize=50_000)  # a meeting repeats its vocabulary
def stem(word: str) -> str:
    """Porter (PyStemmer, as the index's Python analysis uses): "faced" -> "face", "decided" -> "decid"."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("porter")
    return stemmer.stemWord(word.strip("'-").removesuffix("'s"))


def content_stems(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return [stem(w) for w in words if len(w) > 2 and w not in STOPWORDS and w not in GENERIC]


class Vocabulary:
    """The stems a transcript (or a window of it) contains, speaker labels included."""

    def __init__(self, segments: Iterable[Segment]):
        self.stems: set[str] = set()
        for seg in segments:
            self.stems.update(content_stems(f"{seg.speaker} {seg.text}"))
        self._by_start: dict[str, list[str]] = {}
        for s in self.stems:
            self._by_start.setdefault(s[:2], []).append(s)

    def has(self, word_stem: str) -> bool:
        if word_stem in self.stems:
            return True
        # "decid" ~ "decis", "us" (using) ~ "use": a shared prefix of MIN_PREFIX letters (or all of a shorter
        # stem) that covers all but the last letter of the shorter stem
        for other in self._by_start.get(word_stem[:2], ()):
            shared, shorter = len(_common_prefix(word_stem, other)), min(len(word_stem), len(other))
            if shared >= min(MIN_PREFIX, shorter) and shared >= shorter - 1:
                return True
        return False


def support(statement: str, vocab: Vocabulary) -> float:
    """Share of the statement's content words the transcript has; 1.0 when it has none (nothing to check)."""
    stems = content_stems(statement)
    if not stems:
        return 1.0
    return sum(1 for s in stems if vocab.has(s)) / len(stems)


def grounded(statement: str, vocab: Vocabulary) -> bool:
    return support(statement, vocab) >= MIN_SUPPORT


class Ungrounded(Exception):  # noqa: N818 - an outcome the summariser handles like a failed window
    """A window's summary lost every sentence to the check: its notes are not worth keeping."""


@dataclass
class Dropped:
    """What a check removed, for the minutes' notes and the log."""

    items: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def ground_summary(summary: str, vocab: Vocabulary, dropped: Dropped) -> str:
    """The summary without its unsupported sentences ("" when none is supported)."""
    kept = []
    for sentence in _SENTENCE.split(summary.strip()):
        if not sentence.strip():
            continue
        if grounded(sentence, vocab):
            kept.append(sentence.strip())
        else:
            dropped.items.append(sentence.strip())
    return " ".join(kept)


def ground_notes(notes: Notes, vocab: Vocabulary, dropped: Dropped) -> Notes:
    """`notes` with every unsupported summary sentence, decision, action item and open question removed
    (in place, and returned). Topics and names are checked elsewhere (`summarize._checked`)."""

    def keep(items: list, text=str) -> list:
        out = []
        for item in items:
            if grounded(text(item), vocab):
                out.append(item)
            else:
                dropped.items.append(text(item))
        return out

    notes.summary = ground_summary(notes.summary, vocab, dropped)
    notes.decisions = keep(notes.decisions)
    notes.action_items = keep(notes.action_items, lambda a: a.task)
    notes.open_questions = keep(notes.open_questions)
    return notes


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]
