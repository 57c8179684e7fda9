"""Minutes without a model: the transcript's own key sentences, when the LLM is down or a window failed.

Sentences are scored by how many of the meeting's frequent content words they carry (Luhn's idea, 1958);
action items and decisions are the sentences that say so ("I will", "we need to", "we agreed");
topics are stretches of the recording named by their most frequent words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from backend.minutes.notes import Notes
from backend.minutes.types import ActionItem, Segment, Topic
from backend.prompts import defang

SUMMARY_SENTENCES = 5
TOPIC_SECONDS = 300  # one topic per five minutes of recording: a typical agenda item's length
MAX_TOPICS = 12
UNTIMED_TOPIC_SEGMENTS = 60  # a transcript without times: one topic per this many turns

_ACTION = re.compile(r"\b(?:I(?:'ll| will| am going to|'m going to)|we(?:'ll| will| need to| should| have to|"
                     r"'re going to| are going to)|(?:needs?|has|have) to|should|action item|to-?do|"
                     r"will (?:send|check|look|write|prepare|do|follow|take|update|make|set|get|share|fix))\b",
                     re.I)
_DECISION = re.compile(r"\b(?:we(?:'ve| have)? (?:decided|agreed|agree|settled|chose|will go with|'ll go with)|"
                       r"(?:the|our) decision (?:is|was)|(?:it was|it's|it is) decided|agreed (?:on|to|that)|"
                       r"let's go with|(?:is|was|were) approved)\b", re.I)
_DUE = re.compile(r"\b(?:by|before|until|due|on)\s+((?:next |this )?(?:monday|tuesday|wednesday|thursday|friday|"
                  r"saturday|sunday|week|month|tomorrow|tonight|end of (?:the )?(?:day|week|month))|"
                  r"\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|"
                  r"oct|nov|dec)[a-z]*)\b|\b(tomorrow|next week|next meeting)\b", re.I)
_FIRST_PERSON = re.compile(r"^\s*(?:ok(?:ay)?,?\s*|so,?\s*|and,?\s*|yeah,?\s*)*(?:I(?:'ll| will| am going to|"
                           r"'m going to| can)\b)", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
_WORD = re.compile(r"[a-z][a-z'-]+")
_FILLER = re.compile(r"\b(?:um+|uh+|hmm+|mm+|er+|ah+)\b[,.]?\s*", re.I)

# English function words and meeting filler: they carry no topic
STOPWORDS = frozenset("""a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't could couldn't did didn't do does doesn't doing don't down during
each few for from further get gets getting go goes going gonna got had hadn't has hasn't have haven't having he he'd
he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its
itself just know let's like me mean mm more most much must mustn't my myself no nor not now of off ok okay on once only
or other ought our ours ourselves out over own really right same say see shan't she she'd she'll she's should
shouldn't so some something such sure than that that's the their theirs them themselves then there there's these they
they'd they'll they're they've thing things think this those though through to too um uh under until up us very
want was wasn't way we we'd we'll we're we've well were weren't what what's when when's where where's which while who
who's whom why why's will with won't would wouldn't yeah yes you you'd you'll you're you've your yours yourself
yourselves actually maybe kind sort lot okay alright anyway probably basically guess said one two also yep""".split())


@dataclass
class Sentence:
    text: str
    speaker: str
    start: float
    order: int


def extract(segments: list[Segment], *, timed: bool, max_items: int = 8) -> Notes:
    """Notes from the transcript's own sentences: a summary of key sentences in spoken order, action
    items and decisions by their wording, open questions, topics per stretch of time (or of turns)."""
    sentences = split_sentences(segments)
    if not sentences:
        return Notes()
    freq = Counter(w for s in sentences for w in content_words(s.text))
    scores = {s.order: _score(s.text, freq) for s in sentences}
    ranked = sorted((s for s in sentences if len(s.text.split()) >= 4), key=lambda s: (-scores[s.order], s.order))
    key = sorted(ranked[:SUMMARY_SENTENCES], key=lambda s: s.order)
    summary = " ".join(_quote(s) for s in key)

    actions = [s for s in ranked if _ACTION.search(s.text) and not s.text.endswith("?")]
    decisions = [s for s in ranked if _DECISION.search(s.text) and not s.text.endswith("?")]
    questions = [s for s in ranked if s.text.endswith("?") and len(s.text.split()) >= 4]
    return Notes(
        summary=summary,
        decisions=[_quote(s) for s in _in_order(decisions, max_items)],
        action_items=[_action(s) for s in _in_order(actions, max_items)],
        topics=topics(sentences, freq, timed=timed),
        open_questions=[_quote(s) for s in _in_order(questions, max_items)],
    )


def split_sentences(segments: list[Segment]) -> list[Sentence]:
    out: list[Sentence] = []
    for seg in segments:
        text = _FILLER.sub("", " ".join(seg.text.split())).strip()
        for part in _SENTENCE.split(text):
            part = part.strip(" ,")
            # a sentence addressed to an AI model is no meeting content: it stays off the page, and out of
            # whatever later reads the page
            if len(part.split()) >= 3 and not defang(part).removed:
                out.append(Sentence(part, seg.speaker, seg.start, len(out)))
    return out


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2]


def topics(sentences: list[Sentence], freq: Counter, *, timed: bool) -> list[Topic]:
    """One topic per stretch (TOPIC_SECONDS of recording, or UNTIMED_TOPIC_SEGMENTS sentences without
    times), named by the words that stretch uses most and the meeting as a whole uses less."""
    if timed:
        span = sentences[-1].start - sentences[0].start
        size = max(TOPIC_SECONDS, math.ceil(span / MAX_TOPICS))
        groups: dict[int, list[Sentence]] = {}
        for s in sentences:
            groups.setdefault(int((s.start - sentences[0].start) // size), []).append(s)
        stretches = [groups[k] for k in sorted(groups)]
    else:
        size = max(UNTIMED_TOPIC_SEGMENTS, math.ceil(len(sentences) / MAX_TOPICS))
        stretches = [sentences[i:i + size] for i in range(0, len(sentences), size)]
    out: list[Topic] = []
    total = sum(freq.values()) or 1
    for stretch in stretches:
        local = Counter(w for s in stretch for w in content_words(s.text))
        n = sum(local.values()) or 1
        # local share over global share: what this stretch is about rather than the whole meeting
        best = sorted(local, key=lambda w: (-(local[w] / n) * math.log(1 + local[w]) / (freq[w] / total), w))
        words = [w for w in best if local[w] >= 2][:3] or best[:3]
        if words:
            out.append(Topic(title=", ".join(words).capitalize(), start=stretch[0].start if timed else None))
    return out


def _score(text: str, freq: Counter) -> float:
    words = content_words(text)
    if not words:
        return 0.0
    top = {w for w, _ in freq.most_common(40)}
    # Luhn: significant words per sentence, damped for length so that long rambles do not always win
    return sum(1 for w in words if w in top) / math.sqrt(len(text.split()))


def _in_order(sentences: list[Sentence], n: int) -> list[Sentence]:
    return sorted(sentences[:n], key=lambda s: s.order)


def _quote(s: Sentence) -> str:
    return f"{s.speaker}: {s.text}" if s.speaker else s.text


def _action(s: Sentence) -> ActionItem:
    due = _DUE.search(s.text)
    owner = s.speaker if s.speaker and _FIRST_PERSON.match(s.text) else ""
    return ActionItem(task=s.text, owner=owner, due=(due.group(1) or due.group(2)) if due else "")
