"""English stemming on every Elasticsearch node: the node's `english` analyzer, or the same steps done here.

A full distribution has `analysis-common` and with it the `english` analyzer (possessive `'s` removed,
lowercase, English stop words, Porter stemmer). The integ-test distribution that runs locally and in CI has
none of those filters, and unstemmed BM25 misses `meetings` for `meeting` and `BERT's` for `BERT`. There the
index gets `*_stems` fields filled by `stems()` below (the same four steps, with PyStemmer's Porter, the
algorithm Lucene's `english` uses), and the query is stemmed by the same function. Which path an index
took is recorded in its `_meta.stemming`; the searcher reads it there, so a query always takes the path
its index was built with.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

ENGLISH = "english"  # the node's analyzer does it all
PYTHON = "python-porter"  # stems computed by stems() into the *_stems fields
ENGLISH_IF_PRESENT = "english-if-present"  # `english` where the node has it, else no stemming
NONE = "none"  # an explicit analyzer without stemming (LORE_ES_ANALYZER=lore_text or another name)
PLAIN_ANALYZER = "lore_text"  # standard tokenizer + lowercase + English stop words: built from core parts only
STEMS_ANALYZER = "lore_stems"  # the *_stems fields hold ready-made stems: split and lowercase, nothing more
# field -> its stems field; the searcher queries these names instead when an index has PYTHON stemming
STEM_FIELDS = {"title": "title_stems", "heading_path": "heading_stems", "text": "text_stems"}

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the `_english_` list of the stop filter.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with".split()
)
# Words as the standard tokenizer (UAX #29) mostly sees them: letters/digits joined by an inner apostrophe,
# dot or underscore ("don't", "u.s", "1.4", "snake_case"); everything else separates.
_WORD = re.compile(r"\w+(?:['’.]\w+)*")
_POSSESSIVE = ("'s", "’s")

_local = threading.local()  # a PyStemmer object is not thread-safe: one per thread


def _stemmer():
    s = getattr(_local, "stemmer", None)
    if s is None:
        import Stemmer  # PyStemmer: Snowball's C stemmers; "porter" is the algorithm Lucene's `english` uses

        s = _local.stemmer = Stemmer.Stemmer("porter")
    return s


@lru_cache(maxsize=200_000)  # a corpus repeats its vocabulary: most words are stemmed once per process
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def stems(text: str) -> str:
    """`text` as space-separated Porter stems: possessives dropped, lowercased, English stop words removed."""
    out = []
    for m in _WORD.finditer(text.lower()):
        word = m.group()
        if word.endswith(_POSSESSIVE):
            word = word[:-2]
        if not word or word in STOP_WORDS:
            continue
        out.append(_stem(word.replace("’", "'")))
    return " ".join(out)


def stem_fields(source: dict) -> dict:
    """The *_stems fields for one chunk's `_source` (title, heading path, text)."""
    heading = source.get("heading_path") or []
    return {
        "title_stems": stems(source.get("title") or ""),
        "heading_stems": stems(" ".join(heading) if isinstance(heading, list) else str(heading)),
        "text_stems": stems(source.get("text") or ""),
    }


def choose(setting: str, node_modules: set[str]) -> tuple[str, str]:
    """(analyzer of the text fields, stemming path) for the LORE_ES_ANALYZER setting on this node.

    `english-if-present`: `english` where the node has analysis-common, else the plain analyzer.
    `auto` (the default): `english` where the node has analysis-common, else the plain analyzer with Python stems.
    `python-porter` forces the Python path (to compare it with `english` on a full node); any other value
    is an analyzer name used as is, without extra stems.
    """
    if setting == ENGLISH_IF_PRESENT:
        setting = ENGLISH if "analysis-common" in node_modules else PLAIN_ANALYZER
    if setting == "auto":
        setting = ENGLISH if "analysis-common" in node_modules else PYTHON
    if setting == ENGLISH:
        return ENGLISH, ENGLISH
    if setting == PYTHON:
        return PLAIN_ANALYZER, PYTHON
    return setting, NONE
