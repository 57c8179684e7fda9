"""`python -m backend.minutes summarize --transcript FILE` and `transcribe AUDIO`: the pipeline's steps on any data.

One function per subcommand (`_add_<name>` builds its arguments, `_run_<name>` runs it); each prints
what a person wants to read and writes the full result with `--json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from backend.errors import LoreError
from backend.minutes import cli_transcribe
from backend.settings import Settings


def _add_summarize(sub) -> None:
    p = sub.add_parser("summarize", help="minutes (JSON) from a transcript file")
    p.add_argument("--transcript", required=True,
                   help="Transcript.to_json output, or plain text with one 'speaker: text' turn per line")
    p.add_argument("--meeting", default="", help="the meeting's name (the minutes' title)")
    p.add_argument("--date", default="", help="the meeting's date, as it should appear")
    p.add_argument("--attendees", default="", help="comma-separated attendees known from elsewhere")
    p.add_argument("--json", dest="json_out", help="write the minutes as JSON here")
    p.add_argument("--storage", help="also write the minutes page (Confluence storage XHTML) here")


def _run_summarize(args, settings: Settings) -> int:
    from backend.minutes.render import render_storage
    from backend.minutes.summarize import summarize
    from backend.minutes.transcript_file import read_transcript

    transcript = read_transcript(args.transcript)
    attendees = [a.strip() for a in args.attendees.split(",") if a.strip()]

    def progress(fraction: float, stage: str) -> None:
        print(f"[{fraction:4.0%}] {stage}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    minutes = summarize(transcript, settings, meeting=args.meeting, date=args.date, attendees=attendees,
                        progress=progress)
    print(f"{len(transcript.segments)} segments summarised in {time.monotonic() - t0:.1f} s "
          f"(method: {minutes.method})", file=sys.stderr)
    for note in minutes.notes:
        print(f"note: {note}", file=sys.stderr)
    data = json.dumps(minutes.to_json(), indent=2, ensure_ascii=False)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            f.write(data + "\n")
        print(f"minutes written to {args.json_out}", file=sys.stderr)
    else:
        print(data)
    if args.storage:
        with open(args.storage, "w", encoding="utf-8") as f:
            f.write(render_storage(minutes, recording_title=args.transcript))
        print(f"page written to {args.storage}", file=sys.stderr)
    return 0


COMMANDS = {"summarize": (_add_summarize, _run_summarize),
            "transcribe": (cli_transcribe.add_parser, cli_transcribe.run)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.minutes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _run in COMMANDS.values():
        add(sub)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command][1](args, settings)
    except (LoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
