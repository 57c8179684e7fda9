"""Heading-aware chunking: ~N words per chunk with overlap, each chunk knowing its title and heading path.

Works line by line as a generator, so a 5 MB page never exists twice in memory as word lists.
Headings are Markdown-style (`#`..`######`), which is what the Confluence converter and the wiki emit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from backend.documents import Chunk, Document, chunk_id

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _lines(text: str) -> Iterator[str]:
    start = 0
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end == -1:
            end = n
        yield text[start:end]
        start = end + 1


def chunk_document(doc: Document, words: int = 200, overlap: int = 40) -> Iterator[Chunk]:
    """Yield the chunks of `doc`. A section change always starts a new chunk (no overlap across headings)."""
    if overlap >= words:
        raise ValueError(f"chunk overlap ({overlap}) must be smaller than chunk size ({words})")
    n = 0
    for path, body in _pieces(_lines(doc.text), words, overlap):
        yield Chunk(id=chunk_id(doc.id, n), doc_id=doc.id, n=n, title=doc.title, heading_path=path, text=body)
        n += 1


def _pieces(lines: Iterable[str], words: int, overlap: int) -> Iterator[tuple[list[str], str]]:
    stack: list[tuple[int, str]] = []  # (level, heading)
    buf: list[str] = []  # lines of the current piece
    count = 0  # words in buf
    fresh = 0  # words in buf that are not overlap carried from the previous piece

    def path() -> list[str]:
        return [h for _, h in stack]

    def flush(carry: bool) -> Iterator[tuple[list[str], str]]:
        nonlocal buf, count, fresh
        if fresh:
            text = "\n".join(buf).strip()
            if text:
                yield path(), text
        if carry and fresh and overlap:
            tail = " ".join(" ".join(buf).split()[-overlap:])
            buf, count = [tail], len(tail.split())
        else:
            buf, count = [], 0
        fresh = 0

    in_code = False  # inside a ``` fence a "# comment" is code, not a heading
    for line in lines:
        if line.lstrip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _HEADING.match(line)
        if m:
            yield from flush(carry=False)
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, m.group(2).strip()))
            continue
        tokens = line.split()
        if not tokens:
            if buf and buf[-1] != "":
                buf.append("")
            continue
        if len(tokens) > words - count and fresh >= words // 2:
            yield from flush(carry=True)  # prefer a line boundary to a cut mid-line
        while tokens:
            room = words - count
            if room <= 0:
                yield from flush(carry=True)
                continue
            take, tokens = tokens[:room], tokens[room:]
            # keep a short line whole; split only lines longer than the room left
            buf.append(line if not tokens and len(take) == len(line.split()) else " ".join(take))
            count += len(take)
            fresh += len(take)
            if tokens:
                yield from flush(carry=True)
    yield from flush(carry=False)
