"""`python -m backend.minutes transcribe|...`: the minutes pipeline's steps on any file, one subcommand each.

Each subcommand lives in its own module with `add_parser(sub)` (which sets `run`) and `run(args, settings)`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from backend.errors import LoreError
from backend.minutes import cli_transcribe
from backend.settings import Settings

SUBCOMMANDS = [cli_transcribe]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.minutes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args, Settings.from_env())
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
