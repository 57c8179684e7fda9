"""`python -m backend.minutes transcribe AUDIO [--model M] [--json out.json]`: segments with their times."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

from backend.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcribe", help="transcribe an audio or video file with the configured speech model")
    p.add_argument("audio", help="any file PyAV decodes (wav, mp3, m4a, ogg, mp4, ...)")
    p.add_argument("--model", help="tiny.en, base (multilingual) or a folder holding a CTranslate2 Whisper model "
                                      "(LORE_MINUTES_MODEL)")
    p.add_argument("--compute-type", help="int8, int8_float32, float32 ... (LORE_MINUTES_COMPUTE_TYPE)")
    p.add_argument("--language", help="spoken language code; default: detected (LORE_MINUTES_LANGUAGE)")
    p.add_argument("--json", dest="json_out", help="write the transcript as JSON here (input of `summarize`)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from backend.minutes.jobs import clock
    from backend.minutes.transcribe import transcribe

    ms = settings.minutes
    ms = replace(ms, model=args.model or ms.model, compute_type=args.compute_type or ms.compute_type,
                 language=args.language if args.language is not None else ms.language)
    started = time.monotonic()

    def progress(fraction: float) -> None:
        print(f"\r{fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)

    transcript = transcribe(args.audio, ms, progress=progress, cache_dir=settings.cache_dir)
    seconds = time.monotonic() - started
    print(file=sys.stderr)
    for seg in transcript.segments:
        print(f"[{clock(seg.start)} - {clock(seg.end)}] {seg.text}")
    print(f"{len(transcript.segments)} segments, {transcript.duration:.1f} s of audio ({transcript.language or '?'}) "
          f"in {seconds:.1f} s: RTF {seconds / max(transcript.duration, 1e-9):.3f} ({transcript.model}, "
          f"{ms.compute_type})", file=sys.stderr)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(transcript.to_json(), f, indent=2, ensure_ascii=False)
        print(f"transcript written to {args.json_out}", file=sys.stderr)
    return 0
