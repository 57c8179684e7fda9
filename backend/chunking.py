"""Heading-aware chunking: ~N words per chunk with overlap, each chunk knowing its title and heading path.

Works line by line as a generator, so a 5 MB page never exists twice in memory as word lists.
Headings are Markdown-style (`#`..`######`), which is what the Confluence converter and the wiki emit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from backend.documents import Chunk, Document, chunk_id

# Only the opening marks are matched by a regex; the closing `#`s and blanks are stripped with str methods. The
# old one-regex form (`(.+?)\s*#*\s*$`) retried the closing run at every character: 20k characters took 2 s.
_HEADING_START = re.compile(r"(#{1,6})\s+\S")
# A "heading" longer than this is a paragraph that starts with `#` (the longest heading in the 553-page sample wiki
# has 227 characters; Confluence caps page titles at 255). It also keeps heading paths, which every chunk of the
# section carries into its embedding text, short.
MAX_HEADING_CHARS = 300


def _lines(text: str) -> Iterator[str]:
    start = 0
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end == -1:
            end = n
        yield text[start:end]
        start = end + 1


def chunk_document(doc: Document, words: int = 200, overlap: int = 40, merge_below: int = 0) -> Iterator[Chunk]:
    """Yield the chunks of `doc`. A section change starts a new chunk (no overlap across headings), unless the
    chunk so far has fewer than `merge_below` words: then the next section joins it, its heading as a line of
    text, and the chunk's heading path is what its sections share."""
    if overlap >= words:
        raise ValueError(f"chunk overlap ({overlap}) must be smaller than chunk size ({words})")
    n = 0
    for path, body in _pieces(_lines(doc.text), words, overlap, merge_below):
        yield Chunk(id=chunk_id(doc.id, n), doc_id=doc.id, n=n, title=doc.title, heading_path=path, text=body)
        n += 1


def _pieces(lines: Iterable[str], words: int, overlap: int, merge_below: int = 0
            ) -> Iterator[tuple[list[str], str]]:
    stack: list[tuple[int, str]] = []  # (level, heading)
    buf: list[str] = []  # lines of the current piece
    count = 0  # words in buf
    fresh = 0  # words in buf that are not overlap carried from the previous piece
    shared: list[str] | None = None  # the heading path every section with fresh words in buf shares

    def path() -> list[str]:
        return [h for _, h in stack]

    def took(n: int) -> None:
        nonlocal count, fresh, shared
        count += n
        fresh += n
        here = path()
        if shared is None:
            shared = here
        else:
            i = 0
            while i < min(len(shared), len(here)) and shared[i] == here[i]:
                i += 1
            shared = shared[:i]

    def flush(carry: bool) -> Iterator[tuple[list[str], str]]:
        nonlocal buf, count, fresh, shared
        if fresh:
            text = "\n".join(buf).strip()
            if text:
                yield (shared if shared is not None else path()), text
        shared = None
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
        heading = None if in_code else _heading(line)
        if heading:
            level, title = heading
            small = 0 < fresh < merge_below and count + len(title.split()) <= words
            if not small:
                yield from flush(carry=False)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            if small:  # too little to stand alone: the next section joins this chunk, its heading as text
                buf.append(title)
                took(len(title.split()))
            continue
        tokens = line.split()
        if not tokens:
            if buf and buf[-1] != "":
                buf.append("")
            continue
        if len(tokens) > words - count and fresh >= words // 2:
            yield from flush(carry=True)  # prefer a line boundary to a cut mid-line
        at = 0  # tokens of this line already placed (an index, not `tokens = tokens[room:]`: on a 1M-word
        # line, re-slicing the rest for every chunk was quadratic)
        while at < len(tokens):
            room = words - count
            if room <= 0:
                yield from flush(carry=True)
                continue
            take = tokens[at:at + room]
            at += len(take)
            # keep a short line whole; split only lines longer than the room left
            buf.append(line if len(take) == len(tokens) else " ".join(take))
            took(len(take))
            if at < len(tokens):
                yield from flush(carry=True)
    yield from flush(carry=False)


def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) for a Markdown heading line (`## Title ##`), else None. Linear in the line's length."""
    if not line.startswith("#") or len(line) > MAX_HEADING_CHARS:
        return None
    m = _HEADING_START.match(line)
    if not m:
        return None
    title = line[m.end() - 1:].rstrip().rstrip("#").strip()
    return len(m.group(1)), title or "#"  # "# ###": the old pattern's lazy group kept one mark
