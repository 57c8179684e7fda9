"""Chunking: what a reader of a cited chunk sees (its headings, whole lines, bounded size)."""

from __future__ import annotations

import tracemalloc

from backend.chunking import chunk_document
from backend.documents import Document


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
