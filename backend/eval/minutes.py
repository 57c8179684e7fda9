"""Minutes evaluation: `python -m backend.eval minutes --meetings meetings.jsonl [--sample N] [--json F]`.

Each meeting (`{meeting_id, general_summary, turns: [{speaker, text}]}`, QMSum's shape) is summarised by
the real summariser (backend.minutes.summarize, the LLM server at LORE_LLM_URL) and its summary scored
with ROUGE-1/2/L F1 against `general_summary`, next to LEAD computed in the same run: the transcript's
first words, as many as the generated summary has (a length-matched baseline: ROUGE F rewards length
up to the reference's), at least LEAD_MIN_WORDS. Generation time is measured per meeting.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from backend.errors import BadRequest, redact_url
from backend.eval.rouge import rouge
from backend.minutes.summarize import summarize
from backend.minutes.types import Segment, Transcript
from backend.settings import Settings

LLM_WAIT_SECONDS = 300  # before each meeting, for a server that is (re)starting: its model loads in ~10-60 s
LEAD_MIN_WORDS = 50  # a LEAD shorter than this says little; QMSum's general summaries run ~70-200 words
METRICS = ("rouge1", "rouge2", "rougeL")


def load_meetings(path: str | Path) -> list[dict]:
    meetings = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                m = json.loads(line)
                _ = m["general_summary"], m["turns"][0]["text"]
            except (ValueError, KeyError, IndexError, TypeError):
                raise BadRequest(f"{path}:{n} is not a meeting ({{meeting_id, general_summary, turns: "
                                 "[{speaker, text}]}})") from None
            meetings.append(m)
    if not meetings:
        raise BadRequest(f"{path} holds no meetings")
    return meetings


def transcript_of(meeting: dict) -> Transcript:
    """QMSum turns carry no times: an untimed transcript (every segment at 0)."""
    return Transcript([Segment(0.0, 0.0, " ".join(str(t.get("text", "")).split()), str(t.get("speaker", "")))
                       for t in meeting["turns"] if str(t.get("text", "")).strip()])


def lead(transcript: Transcript, words: int) -> str:
    out: list[str] = []
    for seg in transcript.segments:
        out += seg.text.split()
        if len(out) >= words:
            break
    return " ".join(out[:words])


def run_minutes(args, settings: Settings) -> dict:
    from backend.eval.answers import spread_sample

    meetings = load_meetings(args.meetings)
    if args.sample:
        meetings = spread_sample(meetings, args.sample)
    rows = []
    for i, meeting in enumerate(meetings, 1):
        transcript = transcript_of(meeting)
        words = sum(len(s.text.split()) for s in transcript.segments)
        print(f"[{i}/{len(meetings)}] {meeting.get('meeting_id', i)}: {len(transcript.segments)} turns, "
              f"{words} words", file=sys.stderr, flush=True)
        _wait_for_llm(settings.llm.url, getattr(args, "wait_llm", LLM_WAIT_SECONDS))
        t0 = time.monotonic()
        minutes = summarize(transcript, settings, meeting=str(meeting.get("meeting_id", "")),
                            progress=_Stages(t0))
        seconds = time.monotonic() - t0
        baseline = lead(transcript, max(len(minutes.summary.split()), LEAD_MIN_WORDS))
        reference = meeting["general_summary"]
        rows.append({
            "meeting_id": meeting.get("meeting_id"), "turns": len(transcript.segments), "words": words,
            "seconds": round(seconds, 1), "method": minutes.method, "notes": minutes.notes,
            "summary_words": len(minutes.summary.split()), "lead_words": len(baseline.split()),
            "minutes": {k: _f(s.fmeasure) for k, s in rouge(reference, minutes.summary).items()},
            "lead": {k: _f(s.fmeasure) for k, s in rouge(reference, baseline).items()},
            "summary": minutes.summary,
        })
        print(f"    {seconds:.0f} s, {minutes.method}: ROUGE-1/2/L {_fmt(rows[-1]['minutes'])} "
              f"(LEAD {_fmt(rows[-1]['lead'])})", file=sys.stderr, flush=True)
    report = {
        "meetings": len(rows), "llm": {"url": redact_url(settings.llm.url), "model": settings.llm.model},
        "minutes": {k: _f(statistics.mean(r["minutes"][k] for r in rows)) for k in METRICS},
        "lead": {k: _f(statistics.mean(r["lead"][k] for r in rows)) for k in METRICS},
        "seconds_per_meeting": round(statistics.mean(r["seconds"] for r in rows), 1),
        "words_per_second": round(sum(r["words"] for r in rows) / max(sum(r["seconds"] for r in rows), 1e-9), 1),
        "extractive_meetings": sum(r["method"] == "extractive" for r in rows),
        "rows": rows,
    }
    print_minutes(report)
    return report


class _Stages:
    """Prints each stage of one meeting with the seconds since it began (a long meeting takes many minutes)."""

    def __init__(self, t0: float):
        self.t0 = t0

    def __call__(self, fraction: float, stage: str) -> None:
        print(f"    {time.monotonic() - self.t0:5.0f} s  {stage}", file=sys.stderr, flush=True)


def _wait_for_llm(url: str, seconds: float) -> bool:
    """Wait until the LLM server accepts connections: a meeting summarised while it restarts would be scored
    as extractive minutes. A TCP connect, not /v1/models: a busy llama_cpp.server answers that late."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=3):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                print(f"    the LLM server at {redact_url(url)} does not accept connections; summarising anyway",
                      file=sys.stderr)
                return False
            time.sleep(2)


def print_minutes(report: dict) -> None:
    print(f"Minutes on {report['meetings']} meetings (ROUGE F1 x100 against general_summary, no stemming)")
    print(f"  {'':10} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-L':>8}")
    for name in ("minutes", "lead"):
        print(f"  {name:10} " + " ".join(f"{report[name][k] * 100:8.2f}" for k in METRICS))
    print(f"  generation: {report['seconds_per_meeting']:.1f} s per meeting, {report['words_per_second']:.1f} "
          f"transcript words/s; {report['extractive_meetings']} of {report['meetings']} fell back to extractive")


def _f(x: float) -> float:
    return round(x, 4)


def _fmt(scores: dict) -> str:
    return "/".join(f"{scores[k] * 100:.1f}" for k in METRICS)
