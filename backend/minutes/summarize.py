"""Transcript -> minutes: map-reduce over windows that fit the model's context, with an extractive fallback.

Map: each window of transcript lines gets notes (JSON schema where the server supports it, validated,
one retry with the reason, then a plain-text form that `notes.parse_plain` reads). A window whose calls
all fail gets extractive notes; a server that is down turns the whole minutes extractive (never raises).
Reduce: lists are merged by code (deduplicated, capped, topics in time order), the summaries by the model.
Grounding (backend/minutes/grounding.py), after map and after reduce: statements whose content words the
transcript does not have are dropped and counted; a window whose summary loses everything gets extractive notes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from backend.answers import postcheck
from backend.errors import ConfigError, LLMError, LoreError, ServiceUnavailable
from backend.llm import ContextTooLong, Deadline, LLMClient, LLMTimeout, estimate_tokens
from backend.minutes import extractive, grounding
from backend.minutes import prompts as mp
from backend.minutes.notes import SCHEMA, InvalidNotes, Notes, parse_plain, validate
from backend.minutes.types import ActionItem, Minutes, Segment, Topic, Transcript
from backend.prompts import Quoter
from backend.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
MIN_WINDOW_TOKENS = 200  # below this a window holds a few lines: the context is too small to summarise
REDUCE_SHARE = 0.9  # of the progress bar: the map calls; the rest is the final summary


@dataclass
class _Window:
    segments: list[Segment]
    lines: list[str]
    payloads: list[str] = field(default_factory=list)


@dataclass
class _State:
    structured: bool = True  # cleared when the server refuses response_format: plain JSON prompts then
    down: LoreError | None = None  # the server went away: later windows do not wait for it
    failed: list[str] = field(default_factory=list)  # why windows fell back to extractive notes
    dropped: grounding.Dropped = field(default_factory=grounding.Dropped)  # statements nobody said
    ungrounded: int = 0  # windows whose summary the transcript did not support at all


def summarize(transcript: Transcript, settings: Settings, *, meeting: str = "", date: str = "",
              attendees: Sequence[str] = (), progress: Progress | None = None) -> Minutes:
    """Minutes of `transcript`. Never raises for an LLM outage: the minutes are then extractive
    (`method="extractive"`, with a note that says why)."""
    report = progress or (lambda fraction, stage: None)
    segments = [s for s in transcript.segments if s.text.strip()]
    timed = any(s.start > 0 or s.end > 0 for s in segments)
    attendees = [a.strip() for a in attendees if a and a.strip()]
    if not segments:
        report(1.0, "done")
        return Minutes(title=meeting or "Meeting minutes", date=date, attendees=list(attendees),
                       method="extractive",
                       notes=["The transcript contains no speech, so there is nothing to summarise."])
    cfg = settings.minutes_summary
    llm = LLMClient(settings.llm)
    state = _State(structured=cfg.structured)
    try:
        windows = _windows(segments, _window_budget(llm, settings, meeting, date, attendees), timed)
    except LoreError as exc:  # the server could not be asked for its limits, or they are too small
        state.down = exc
        windows = [_Window(segments, [])]
    parts: list[Notes] = []
    for i, window in enumerate(windows):
        report(REDUCE_SHARE * i / len(windows), f"summarising part {i + 1} of {len(windows)}")
        head = mp.header(Quoter(), meeting=meeting, date=date, attendees=attendees, part=i + 1, parts=len(windows))
        ask = partial(_ask_notes, llm, settings, window, head, state)
        parts.append(_window_notes(ask, window, timed, state))
    report(REDUCE_SHARE, "combining the parts")
    minutes = _assemble(parts, windows, segments, state, timed=timed, meeting=meeting, date=date,
                        attendees=attendees, max_items=cfg.max_items,
                        reduce=partial(_reduce, llm, settings, meeting=meeting, date=date, attendees=attendees,
                                       state=state))
    report(1.0, "done")
    return minutes


def _assemble(parts: list[Notes], windows: list[_Window], segments: list[Segment], state: _State, *, timed: bool,
              meeting: str, date: str, attendees: Sequence[str], max_items: int,
              reduce: Callable[[list[Notes]], tuple[str, str]]) -> Minutes:
    """The windows' notes -> minutes: merged, the summary reduced by the model and checked, marked as made."""
    llm_parts = len(windows) - len(state.failed)
    if not llm_parts:  # no window reached the model: pick key sentences from the meeting as a whole
        parts = [extractive.extract(segments, timed=timed, max_items=max_items)]
    merged = _merge(parts, max_items)
    title, summary = merged.title, merged.summary
    if llm_parts and len(parts) > 1 and state.down is None:
        title, summary = reduce(parts)
        # the final summary may say what no part said: checked against the whole transcript
        summary = grounding.ground_summary(summary, grounding.Vocabulary(segments), state.dropped) or merged.summary
    minutes = Minutes(
        title=meeting or title or "Meeting minutes", date=date,
        attendees=_attendees(attendees, segments, merged.names),
        summary=summary, decisions=merged.decisions, action_items=merged.action_items, topics=merged.topics,
        open_questions=merged.open_questions, method="llm" if llm_parts else "extractive")
    if not llm_parts and state.ungrounded == len(windows):
        minutes.notes.append(f"The language model's notes stated things the transcript does not say "
                             f"({len(state.dropped)} statements), so these minutes are the transcript's own key "
                             "sentences, picked without it.")
    elif not llm_parts:
        why = state.down or (state.failed[0] if state.failed else "no usable answer")
        minutes.notes.append(f"The language model was not available ({why}), so these minutes are the "
                             "transcript's own key sentences, picked without it.")
    elif state.failed:
        minutes.notes.append(f"{len(state.failed)} of {len(windows)} parts of the transcript could not be "
                             f"summarised by the language model ({state.failed[0]}); their notes are the "
                             "transcript's own key sentences.")
    if state.dropped and llm_parts:
        minutes.notes.append(f"{len(state.dropped)} statements of the language model that the transcript does not "
                             "support were left out.")
    if state.dropped:
        log.info("minutes: %d statements the transcript does not support were dropped", len(state.dropped),
                 extra={"dropped": len(state.dropped), "windows_ungrounded": state.ungrounded})
    return minutes


# ---- windows ------------------------------------------------------------------------------------

def _window_budget(llm: LLMClient, settings: Settings, meeting: str, date: str, attendees: Sequence[str]) -> int:
    cfg = settings.minutes_summary
    head = mp.header(Quoter(), meeting=meeting, date=date, attendees=attendees, part=99, parts=99)
    overhead = 2 * settings.answer.prompt_overhead_tokens  # chat-template tokens of the two messages
    # the system prompt at 2 characters a token: its JSON keys and punctuation tokenise densely
    fit = llm.prompt_budget(cfg.max_tokens) - estimate_tokens(head) - mp.fixed_chars() // 2 - overhead
    budget = min(cfg.window_tokens, fit) if cfg.window_tokens > 0 else fit
    if budget < MIN_WINDOW_TOKENS:
        raise ConfigError(f"The model's context window ({llm.context_window()} tokens) leaves {budget} tokens "
                          f"of transcript per call next to LORE_MINUTES_SUMMARY_MAX_TOKENS={cfg.max_tokens}: "
                          "lower that or serve a larger context (LORE_LLM_CONTEXT_WINDOW).")
    return budget


def _windows(segments: list[Segment], budget: int, timed: bool) -> list[_Window]:
    """Consecutive segments whose defanged lines fit `budget` tokens (estimated conservatively); a
    segment longer than a window is cut into pieces that keep its start time."""
    windows: list[_Window] = []
    current = _Window([], [])
    used = 0
    for seg in _pieces(segments, budget):
        q = Quoter()
        lines = mp.transcript_lines([seg], q, timed=timed)
        if not lines:
            continue
        cost = estimate_tokens(lines[0]) + 1  # +1: the newline
        if current.lines and used + cost > budget:
            windows.append(current)
            current, used = _Window([], []), 0
        current.segments.append(seg)
        current.lines.append(lines[0])
        current.payloads += q.payloads
        used += cost
    if current.lines:
        windows.append(current)
    return windows


def _pieces(segments: list[Segment], budget: int) -> list[Segment]:
    chars = int(budget * 3 * 0.8)  # estimate_tokens counts 3 characters a token; 0.8 leaves room for the label
    out = []
    for s in segments:
        text = s.text.strip()
        while len(text) > chars:
            cut = text.rfind(" ", 0, chars)
            cut = cut if cut > chars // 2 else chars
            out.append(Segment(s.start, s.end, text[:cut], s.speaker))
            text = text[cut:].strip()
        if text:
            out.append(Segment(s.start, s.end, text, s.speaker))
    return out


# ---- map ----------------------------------------------------------------------------------------

def _window_notes(ask: Callable[[], Notes], window: _Window, timed: bool, state: _State) -> Notes:
    """The model's notes for one window (`ask`), made honest and checked; extractive notes when that fails."""
    if state.down is None:
        try:
            notes = ask()
            return _grounded(_checked(notes, window, timed), window, state)
        except ServiceUnavailable as exc:
            state.down = exc
            reason = str(exc)
        except grounding.Ungrounded as exc:
            state.ungrounded += 1
            reason = str(exc)
        except (LLMError, ConfigError, InvalidNotes) as exc:
            reason = str(exc)
            if isinstance(exc, LLMTimeout | ContextTooLong):
                log.warning("minutes: a window's notes failed (%s); using extractive notes", exc)
        state.failed.append(reason)
    else:
        state.failed.append(str(state.down))
    return extractive.extract(window.segments, timed=timed)


def _ask_notes(llm: LLMClient, settings: Settings, window: _Window, head: str, state: _State) -> Notes:
    """Structured reply, validated; one retry that names what was wrong; then the plain-text form."""
    cfg = settings.minutes_summary
    messages = mp.notes_messages(window.lines, head)
    reason = ""
    for _attempt in range(2):
        if reason:  # the retry: the same prompt with the reason appended (the bad reply would cost context)
            messages = [messages[0], {"role": "user", "content": messages[1]["content"] + "\n\n" +
                                      mp.RETRY.format(reason=reason)}]
        reply = _chat(llm, settings, messages, cfg.max_tokens, SCHEMA, state)
        try:
            return validate(reply)
        except InvalidNotes as exc:
            reason = str(exc)
            log.info("minutes: notes reply not usable (%s)", reason)
    reply = _chat(llm, settings, mp.notes_messages(window.lines, head, plain=True), cfg.max_tokens, None, state)
    notes = parse_plain(reply)
    if notes.empty():
        raise InvalidNotes(f"the model's replies could not be read as minutes ({reason})")
    return notes


def _chat(llm: LLMClient, settings: Settings, messages: list[dict], max_tokens: int, schema: dict | None,
          state: _State) -> str:
    kwargs = dict(max_tokens=max_tokens, seed=settings.answer.seed)
    if schema is not None and state.structured:
        try:
            return llm.chat(messages, response_format=llm.json_format(schema),
                            deadline=Deadline(settings.minutes_summary.call_timeout), **kwargs)
        except (ServiceUnavailable, LLMTimeout, ContextTooLong):
            raise
        except LLMError as exc:  # refused the response_format (HTTP 400/422): ask for JSON in words only
            log.info("minutes: the LLM server refused structured output (%s); asking without it", exc)
            state.structured = False
    return llm.chat(messages, deadline=Deadline(settings.minutes_summary.call_timeout), **kwargs)


def _checked(notes: Notes, window: _Window, timed: bool) -> Notes:
    """Notes made honest against the window they came from: no text an injected line asked for, names
    and owners only as the transcript has them, topic times inside the window (or found by their words)."""
    payloads = window.payloads

    def clean(text: str) -> bool:
        return not payloads or postcheck.check(text, 0, payloads).verdict != postcheck.HIJACKED

    spoken = " ".join(s.text for s in window.segments).lower()
    speakers = {s.speaker.lower() for s in window.segments if s.speaker}
    notes.summary = " ".join(_SCAFFOLD.sub(" ", notes.summary).split())
    if not notes.summary or not clean(notes.summary):
        notes.summary = extractive.extract(window.segments, timed=timed).summary
    notes.decisions = [d for d in notes.decisions if clean(d)]
    notes.open_questions = [x for x in notes.open_questions if clean(x)]
    notes.names = [n for n in notes.names if _said(n, spoken) and n.lower() not in speakers]
    actions = []
    for a in notes.action_items:
        if clean(a.task):
            owner = a.owner if a.owner.lower() in speakers or _said(a.owner, spoken) else ""
            actions.append(ActionItem(task=a.task, owner=owner, due=a.due))
    notes.action_items = actions
    notes.topics = [_place(t, window, timed) for t in notes.topics if clean(t.title)]
    if not notes.topics:
        notes.topics = extractive.extract(window.segments, timed=timed).topics[:1]
    return notes


def _grounded(notes: Notes, window: _Window, state: _State) -> Notes:
    """Notes without the statements this window's words do not support; none left of the summary: Ungrounded."""
    before = len(state.dropped)
    notes = grounding.ground_notes(notes, grounding.Vocabulary(window.segments), state.dropped)
    if not notes.summary:
        raise grounding.Ungrounded(f"its summary stated things the transcript does not say "
                                   f"({len(state.dropped) - before} statements)")
    return notes


def _said(name: str, spoken: str) -> bool:
    return bool(name) and re.search(rf"\b{re.escape(name.lower())}\b", spoken) is not None


def _place(topic: Topic, window: _Window, timed: bool) -> Topic:
    if not timed:
        return Topic(topic.title, None)
    first, last = window.segments[0].start, window.segments[-1].end or window.segments[-1].start
    if topic.start is not None and first - 1 <= topic.start <= last + 1:
        return topic
    # the model's time is missing or outside this window: the first line sharing most of the topic's words
    words = set(extractive.content_words(topic.title))
    best = max(window.segments, key=lambda s: (len(words & set(extractive.content_words(s.text))), -s.start))
    return Topic(topic.title, best.start)


# ---- reduce -------------------------------------------------------------------------------------

def _merge(parts: list[Notes], max_items: int) -> Notes:
    def unique(items, key):
        seen, out = set(), []
        for item in items:
            k = re.sub(r"\W+", " ", key(item).lower()).strip()
            if k and k not in seen:
                seen.add(k)
                out.append(item)
        return out[:max_items]

    topics = unique([t for p in parts for t in p.topics], lambda t: t.title)
    return Notes(
        title=next((p.title for p in parts if p.title), ""),
        summary=" ".join(p.summary for p in parts if p.summary),
        decisions=unique([d for p in parts for d in p.decisions], str),
        action_items=unique([a for p in parts for a in p.action_items], lambda a: a.task),
        topics=sorted(topics, key=lambda t: (t.start is None, t.start or 0.0)),
        open_questions=unique([x for p in parts for x in p.open_questions], str),
        names=unique([n for p in parts for n in p.names], str),
    )


def _reduce(llm: LLMClient, settings: Settings, parts: list[Notes], *, meeting: str, date: str,
            attendees: Sequence[str], state: _State) -> tuple[str, str]:
    """(title, summary) of the whole meeting from the parts' summaries, in rounds when they do not fit one
    prompt; on any failure, the parts' summaries joined (the minutes are still the model's)."""
    cfg = settings.minutes_summary
    summaries = [p.summary for p in parts if p.summary]
    title = next((p.title for p in parts if p.title), "")
    joined = " ".join(summaries)
    head = mp.header(Quoter(), meeting=meeting, date=date, attendees=attendees, part=1, parts=1)
    budget = (llm.prompt_budget(cfg.summary_max_tokens) - estimate_tokens(mp.REDUCE_SYSTEM + head)
              - 2 * settings.answer.prompt_overhead_tokens - 50)
    try:
        while len(summaries) > 1:
            groups, current, used = [], [], 0
            for s in summaries:
                cost = estimate_tokens(s) + 5
                if current and used + cost > budget:
                    groups.append(current)
                    current, used = [], 0
                current.append(s)
                used += cost
            groups.append(current)
            rounds = []
            for group in groups:
                q = Quoter()
                reply = _chat(llm, settings, mp.reduce_messages(group, head, q), cfg.summary_max_tokens,
                              mp.REDUCE_SCHEMA, state)
                got_title, got = _reduce_reply(reply)
                if not got or (q.payloads and postcheck.check(got, 0, q.payloads).verdict == postcheck.HIJACKED):
                    got = " ".join(group)
                title = got_title or title
                rounds.append(got)
            if len(rounds) >= len(summaries):  # no progress (each summary alone fills a prompt): stop here
                return title, " ".join(rounds)
            summaries = rounds
    except LoreError as exc:
        log.warning("minutes: the final summary failed (%s); keeping the parts' summaries", exc)
        return title, joined
    return title, summaries[0] if summaries else joined


# the prompt's scaffolding that a small model copies into its summary ("Part 2: ...", "This is part 1 of 3 of
# the transcript."): seen in 2 of 3 QMSum meetings with the 0.5B model
_SCAFFOLD = re.compile(r"\bThis is part \d+ of \d+[^.]*\.\s*|\bPart \d+\s*:\s*", re.I)


def _reduce_reply(reply: str) -> tuple[str, str]:
    try:
        notes = validate(reply)
        title, summary = notes.title, notes.summary
    except InvalidNotes:
        plain = parse_plain(reply)
        title, summary = plain.title, plain.summary
    return title, " ".join(_SCAFFOLD.sub(" ", summary).split())


def _attendees(listed: Sequence[str], segments: list[Segment], names: Sequence[str]) -> list[str]:
    """The page's attendees, then the speakers as labelled (an unnamed "Speaker 2" stays so), then the
    names spoken that are neither; the same person is not listed twice ("Alice" and "alice smith")."""
    out: list[str] = []

    def known(name: str) -> bool:
        low = name.lower()
        return any(low == o.lower() or re.search(rf"\b{re.escape(low)}\b", o.lower()) for o in out)

    for name in [*listed, *(s.speaker for s in segments if s.speaker), *names]:
        name = " ".join(name.split())
        if name and not known(name):
            out.append(name)
    return out
