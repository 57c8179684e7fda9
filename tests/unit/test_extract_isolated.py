"""Attachment extraction in a child process: same text and reasons as in-process, and a time budget that holds
even while a parser is busy inside library code (the child is killed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from backend.errors import ExtractionError
from connector.extract import extract_text
from connector.extract.isolated import extract_text_within
from tests.standins.files import make_corrupt_pdf, make_docx, make_pdf

LIMIT = 20_000_000


def test_the_child_gives_the_same_text_and_the_same_reasons(tmp_path: Path) -> None:
    docx = tmp_path / "policy.docx"
    docx.write_bytes(make_docx(["# Disclosure", "Report vulnerabilities privately within two days."]))
    assert extract_text_within(docx, "", docx.name, LIMIT, 60) == extract_text(docx, "", docx.name, LIMIT)
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(make_corrupt_pdf())
    with pytest.raises(ExtractionError) as here:
        extract_text(broken, "application/pdf", broken.name, LIMIT)
    with pytest.raises(ExtractionError) as there:
        extract_text_within(broken, "application/pdf", broken.name, LIMIT, 60)
    assert there.value.message == here.value.message


def test_an_extraction_past_its_budget_is_stopped_with_the_reason(tmp_path: Path) -> None:
    # 600 pages read by pypdf up to the 2M-character text cap: ~4 s of library code on the 2-core dev box
    text = "\n".join(f"Line {i} of the quarterly report explains the budget and the staffing plan." for i in range(45))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(text, pages=600))
    started = time.monotonic()
    with pytest.raises(ExtractionError) as err:
        extract_text_within(pdf, "application/pdf", pdf.name, LIMIT, 0.5)
    assert time.monotonic() - started < 3.0  # killed at the budget, not left to finish
    assert "took longer than 0.5 s" in err.value.message and "LORE_CONFLUENCE_ITEM_SECONDS" in err.value.message


def test_an_extraction_past_its_memory_limit_fails_alone_with_the_reason(tmp_path: Path) -> None:
    # the same 600-page PDF peaks at ~75 MB of address space; the interpreter and parsers alone need ~30 MB
    text = "\n".join(f"Line {i} of the quarterly report explains the budget and the staffing plan." for i in range(45))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(text, pages=600))
    with pytest.raises(ExtractionError) as err:
        extract_text_within(pdf, "application/pdf", pdf.name, LIMIT, 60, memory_mb=48)
    assert "memory" in err.value.message and "LORE_CONFLUENCE_EXTRACT_MEMORY_MB=48" in err.value.message
    # with the default limit it reads the whole file
    assert len(extract_text_within(pdf, "application/pdf", pdf.name, LIMIT, 60, memory_mb=1024)) > 1_000_000
