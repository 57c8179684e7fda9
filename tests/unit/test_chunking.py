"""Chunking: what a reader of a cited chunk sees (its headings, whole lines, bounded size)."""

from __future__ import annotations

import tracemalloc

from backend.chunking import MAX_HEADING_CHARS, chunk_document
from backend.documents import Document
from backend.settings import ChunkSettings
from tests.timing import timed


def chunks(text: str, words: int = 200, overlap: int = 40):
    return list(chunk_document(Document(id="d", title="Handbook", text=text), words, overlap))


def test_each_chunk_carries_title_and_heading_path():
    text = "# Travel\nBook trains early.\n## Expenses\nKeep receipts for a year.\n# Security\nLock your screen.\n"
    got = [(c.heading_path, c.text) for c in chunks(text)]
    assert got == [
        (["Travel"], "Book trains early."),
        (["Travel", "Expenses"], "Keep receipts for a year."),
        (["Security"], "Lock your screen."),
    ]
    assert chunks(text)[1].embed_text().startswith("Handbook > Travel > Expenses\n")


def test_long_sections_split_near_the_size_with_overlap_and_deterministic_ids():
    text = "# Policy\n" + "\n".join(f"Rule {i} says something about expenses and travel." for i in range(120))
    got = chunks(text)
    assert [c.id for c in got] == [f"d#{i}" for i in range(len(got))]
    assert all(len(c.text.split()) <= 200 for c in got)
    assert len(got) >= 4
    # the end of one chunk is repeated at the start of the next, so no sentence is cut from its context
    assert got[0].text.split()[-5:] == got[1].text.split()[:40][-5:] or got[0].text.split()[-1] in got[1].text
    assert chunks(text) == got


def test_empty_text_gives_no_chunks_and_a_giant_line_is_cut():
    assert chunks("") == [] and chunks("\n\n  \n") == []
    got = chunks("word " * 1000)  # 200 + 5 x (200 - 40 overlap) = 1000 words
    assert len(got) == 6 and all(len(c.text.split()) <= 200 for c in got)


def test_a_5mb_document_is_chunked_with_bounded_memory():
    para = "The release manager signs off the build after the security scan passes. " * 12
    text = "\n".join(f"## Section {i}\n{para}" for i in range(5_000_000 // (len(para) + 20)))
    assert len(text) >= 4_900_000
    tracemalloc.start()
    n = sum(1 for _ in chunk_document(Document(id="big", title="Big", text=text)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n > 5000
    assert peak < 2_000_000  # streaming: a few chunks in flight, never a copy of the 5 MB text


def test_hash_lines_inside_code_blocks_are_code_not_headings():
    text = "# Setup\nRun this:\n```\n# install deps\npip install lore\n```\nThen start it.\n"
    got = chunks(text)
    assert [c.heading_path for c in got] == [["Setup"]]
    assert "# install deps" in got[0].text


def test_closing_marks_are_stripped_and_an_overlong_heading_is_body_text():
    long_line = "# " + "Everyone who travels books the cheapest refundable fare and files receipts. " * 5
    text = f"## Travel ##\nBook trains early.\n{long_line}\nKeep receipts.\n### C# tips\nUse records.\n"
    got = chunks(text)
    assert [c.heading_path for c in got] == [["Travel"], ["Travel", "C# tips"]]
    # a 380-character "heading" is a paragraph that starts with #: its words stay searchable body text
    assert "cheapest refundable fare" in got[0].text and "Keep receipts." in got[0].text
    assert all(len(h) <= MAX_HEADING_CHARS for c in got for h in c.heading_path)


def test_pathological_lines_are_chunked_in_linear_time():
    # a run of `#` after a heading mark: the old pattern took 2 s at 20k characters and hours at 2 MB
    hashes = "# " + "#" * 2_000_000 + "x"
    got, _ = timed(lambda: chunks(hashes), 10, "a 2 MB run of # after a heading mark")
    assert [c.heading_path for c in got] == [[]] and got[0].text.endswith("#x")
    # one line of a million words as large as the indexer accepts: re-slicing the rest of the line for every
    # chunk was quadratic (22 s)
    cap = ChunkSettings().max_document_chars
    got, _ = timed(lambda: chunks("word " * (cap // 5)), 10, "a 5 MB line of words")
    assert len(got) == 1 + (cap // 5 - 200 + 159) // 160 and all(len(c.text.split()) <= 200 for c in got)


def test_tiny_sections_join_the_next_one_instead_of_becoming_chunks_of_a_few_words():
    # meeting minutes: a heading per agenda item, a line under each (half the wiki's chunks had < 48 words)
    text = "# Minutes\n## Attendees\nChris, Arnaud, Hart.\n## Votes\nThe TSC approved Fabric 1.0.\n" \
           "# Actions\n" + "Long follow-up work item that needs a chunk of its own. " * 12
    merged = list(chunk_document(Document(id="d", title="TSC 2017", text=text), 200, 40, merge_below=8))
    assert [(c.heading_path, c.text.split("\n")) for c in merged[:1]] == [
        (["Minutes"], ["Chris, Arnaud, Hart.", "Votes", "The TSC approved Fabric 1.0."]),
    ]
    # the next section starts its own chunk once the one before has enough words, and keeps its headings
    assert merged[1].heading_path == ["Actions"] and len(merged) == 2
    assert merged[0].embed_text().startswith("TSC 2017 > Minutes\n")
    assert len(chunks(text)) == 3  # without merging: one chunk per section, two of them a few words long
