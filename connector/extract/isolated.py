"""Attachment extraction in a child process, killed when it runs past the item's time budget.

Why a process: pypdf, python-docx and openpyxl run library code (parts of it in C) that no cooperative check
reaches, a thread stuck in it cannot be stopped, and signals reach only the main thread while sync workers are
pool threads. A child with a timeout is the one bound that always holds; it costs ~0.3 s to start (Python and
the parsers' imports), small next to the download before it. The child runs `extract_text` unchanged, under an
address-space limit (RLIMIT_AS) so that a decompression bomb or a parser gone wild fails alone with a reason
instead of taking the sync (or the machine) down with it.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
from pathlib import Path

from backend.errors import ExtractionError

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the `connector` and `backend` packages
_STDERR_CHARS = 2000  # what we keep of a child's log lines (its own logging goes to stderr)


def extract_text_within(path: Path, media_type: str, filename: str, max_bytes: int, seconds: float,
                        memory_mb: int = 0) -> str:
    """`connector.extract.extract_text` in a child process that gets `seconds` to finish and, when `memory_mb`
    is set, that much address space.

    Raises `ExtractionError` with the reason: the extractor's own, the budget, the memory limit, or a crash.
    """
    request = {"path": str(path), "media_type": media_type, "filename": filename, "max_bytes": max_bytes,
               "memory_mb": memory_mb}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", __name__], input=json.dumps(request).encode(),
                              capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:  # run() has killed the child by now
        raise ExtractionError(f"text extraction took longer than {seconds:g} s (LORE_CONFLUENCE_ITEM_SECONDS); "
                              "skipped until the file changes") from None
    if done.stderr:
        log.info("attachment extractor: %s", done.stderr.decode("utf-8", "replace")[-_STDERR_CHARS:].strip(),
                 extra={"attachment": filename})
    try:
        reply = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        how = f"was killed by signal {-done.returncode}" if done.returncode < 0 else f"failed (exit {done.returncode})"
        raise ExtractionError(f"could not read {filename!r}: the extraction process {how}, probably out of memory "
                              "or a parser crash")
    if "error" in reply:
        raise ExtractionError(reply["error"])
    return reply["text"]


def _child() -> None:
    request = json.loads(sys.stdin.buffer.read())
    limit = int(request.get("memory_mb") or 0)
    if limit > 0:  # before the parsers are imported: they count too
        resource.setrlimit(resource.RLIMIT_AS, (limit << 20, limit << 20))
    from connector.extract import extract_text

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        reply = {"text": extract_text(Path(request["path"]), request["media_type"], request["filename"],
                                      request["max_bytes"])}
    except ExtractionError as exc:
        memory = limit > 0 and "memory" in exc.message  # a parser that caught its own MemoryError
        reply = {"error": exc.message + (f" (limit: LORE_CONFLUENCE_EXTRACT_MEMORY_MB={limit})" if memory else "")}
    except MemoryError:
        reply = {"error": f"reading {request['filename']!r} needed more than {limit} MB of memory "
                          "(LORE_CONFLUENCE_EXTRACT_MEMORY_MB); skipped until the file changes"}
    sys.stdout.write(json.dumps(reply))  # ASCII JSON: any str (lone surrogates from a bad PDF too) round-trips


if __name__ == "__main__":
    _child()
