"""Attachment text extraction on real files generated at test time, and every reason a file is skipped."""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from backend.errors import ExtractionError
from connector.extract import extract_text, is_recording, kind_of
from tests.standins.files import (
    make_corrupt_pdf,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    make_pptx,
    make_xlsx,
    write_large_docx,
)

LIMIT = 20_000_000  # the default attachment_max_bytes
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write


def extract(path: Path, media_type: str = "", **kw) -> str:
    return extract_text(path, media_type, path.name, kw.pop("max_bytes", LIMIT), **kw)


def reason(path: Path, media_type: str = "", **kw) -> str:
    with pytest.raises(ExtractionError) as err:
        extract(path, media_type, **kw)
    return str(err.value)


# --- each file type ------------------------------------------------------------------------------------------


def test_pdf_text_comes_back_page_by_page(write):
    text = extract(write("report.pdf", make_pdf("Quarterly report (Q3)\nRevenue grew 12% to 4.2M", pages=3)))
    assert text.count("Revenue grew 12% to 4.2M") == 3
    assert text.index("Page 1 of 3") < text.index("Page 2 of 3") < text.index("Page 3 of 3")
    assert "Quarterly report (Q3)" in text


def test_docx_keeps_headings_lists_and_table_rows_in_order(write):
    data = make_docx(
        ["# Launch plan", "We ship in March.", "## Risks", "- budget overrun", "- hiring delays"],
        table=[["Owner", "Task"], ["Ann", "Docs"], ["Raj", "Release | tags"]],
    )
    text = extract(write("plan.docx", data), DOCX)
    lines = text.splitlines()
    assert lines[0] == "# Launch plan"
    assert "## Risks" in lines
    assert lines.index("## Risks") < lines.index("- budget overrun") < lines.index("- hiring delays")
    assert lines[-3:] == ["| Owner | Task |", "| Ann | Docs |", "| Raj | Release \\| tags |"]


def test_pptx_slide_titles_become_headings_with_bullets_and_notes(write):
    data = make_pptx(
        [("Kickoff", ["Goals for Q3", "Timeline"]), ("Budget", ["$10k for tooling"])], notes={1: "Ask finance"}
    )
    text = extract(write("deck.pptx", data), PPTX)
    assert text.splitlines() == [
        "# Kickoff",
        "",
        "- Goals for Q3",
        "- Timeline",
        "",
        "# Budget",
        "",
        "- $10k for tooling",
        "Notes: Ask finance",
    ]


def test_xlsx_sheets_are_headings_and_rows_are_pipe_rows(write):
    data = make_xlsx(
        {
            "Q1 costs": [["Item", "Cost"], ["Laptop", 1200.0], [None, None], ["Desk", 300.5]],
            "Blank": [],
            "People": [["Ann", "Lead"]],
        }
    )
    text = extract(write("budget.xlsx", data), XLSX)
    assert text.splitlines() == [
        "# Q1 costs",
        "",
        "| Item | Cost |",
        "| Laptop | 1200 |",
        "| Desk | 300.5 |",
        "",
        "# People",
        "",
        "| Ann | Lead |",
    ]


def test_huge_sheets_are_cut_at_the_cell_budget(write):
    rows = [[f"r{r}c{c}" for c in range(5)] for r in range(100)]
    text = extract(write("export.xlsx", make_xlsx({"Data": rows})), XLSX, max_cells=50)
    assert "| r0c0 | r0c1 | r0c2 | r0c3 | r0c4 |" in text
    assert "r9c4" in text and "r10c0" not in text


def test_csv_rows_and_delimiter_sniffing(write):
    assert (
        extract(write("a.csv", b'name,team\nAnn,"Ops, infra"\n'), "text/csv") == "| name | team |\n| Ann | Ops, infra |"
    )
    assert extract(write("b.csv", b"name;team\nAnn;Ops\nRaj;Dev\n"), "text/csv").splitlines()[2] == "| Raj | Dev |"
    assert extract(write("c.tsv", b"a\tb\n1\t2\n"), "text/tab-separated-values") == "| a | b |\n| 1 | 2 |"


def test_text_and_markdown_in_common_encodings(write):
    assert extract(write("notes.md", "# Notes\n\nCafé ☕\n".encode()), "text/markdown") == "# Notes\n\nCafé ☕"
    assert extract(write("old.txt", "Café résumé".encode("cp1252")), "text/plain") == "Café résumé"
    assert extract(write("win.txt", "hello ünïcode".encode("utf-16")), "text/plain") == "hello ünïcode"
    bom = write("bom.txt", "\ufeffno BOM left".encode())
    assert extract(bom, "text/plain; charset=utf-8") == "no BOM left"


def test_html_is_stripped_to_structured_text(write):
    page = (
        b"<html><head><title>x</title><script>var a=1;</script></head>"
        b"<body><h2>Runbook</h2><p>Restart the <b>worker</b>.</p></body></html>"
    )
    assert extract(write("runbook.html", page), "text/html") == "## Runbook\n\nRestart the worker."


def test_filename_extension_decides_when_the_media_type_is_generic(write):
    data = make_docx(["Generic upload"])
    assert extract(write("upload.docx", data), "application/octet-stream") == "Generic upload"
    assert extract(write("upload2.docx", data), "") == "Generic upload"
    assert kind_of("binary/octet-stream", "Report.PDF") == "PDF"
    assert kind_of("application/pdf", "weird-name.bin") == "PDF"


def test_text_past_the_budget_is_cut_at_a_line_end(write):
    path = write("big.log", b"".join(b"line %05d of the log\n" % i for i in range(5000)))
    text = extract(path, "text/plain", max_chars=1000)
    assert len(text) <= 1000
    assert text.endswith("of the log")
    assert text.startswith("line 00000")


# --- every reason a file is skipped ----------------------------------------------------------------------------


def test_recordings_are_for_the_minutes_pipeline(write):
    for media_type, name in [("audio/mpeg", "standup"), ("video/mp4", "x"), ("", "demo.MKV"), ("", "call.m4a")]:
        assert is_recording(media_type, name)
    for media_type, name in [("application/pdf", "a.pdf"), ("", "notes.txt"), ("text/plain", "audio.txt")]:
        assert not is_recording(media_type, name)
    assert reason(write("sync.webm", b"\x1a\x45\xdf\xa3"), "video/webm") == "recording: handled by the minutes pipeline"


def test_unsupported_types_say_what_is_supported(write):
    message = reason(write("old.doc", b"\xd0\xcf\x11\xe0 legacy"), "application/msword")
    assert "unsupported attachment type (application/msword, 'old.doc')" in message
    assert "PDF, DOCX" in message


def test_empty_attachment(write):
    assert reason(write("blank.pdf", b""), "application/pdf") == "empty attachment"


def test_files_over_the_size_limit_are_skipped_before_reading(write):
    message = reason(write("huge.pdf", make_pdf("x")), "application/pdf", max_bytes=100)
    assert "over the 0.0 MB limit" in message and "LORE_CONFLUENCE_ATTACHMENT_MAX_BYTES" in message


def test_corrupt_files_name_their_type_and_the_reason(write):
    assert reason(write("broken.pdf", make_corrupt_pdf()), "application/pdf").startswith("could not read PDF: ")
    message = reason(write("broken.docx", b"this is not a zip file"), DOCX)
    assert message.startswith("could not read Word document: not a valid Office file")
    good = make_xlsx({"S": [["a"]]})
    message = reason(write("cut.xlsx", good[: len(good) // 2]), XLSX)
    assert message.startswith("could not read Excel workbook: ")


def test_password_protected_pdf_is_skipped_but_owner_only_protection_is_read(write):
    assert reason(write("locked.pdf", make_encrypted_pdf("salary table")), "application/pdf").startswith(
        "encrypted PDF, skipped"
    )
    assert "print-protected text" in extract(write("ro.pdf", make_encrypted_pdf("print-protected text", "")))


def test_scanned_pdf_without_text_says_so(write):
    message = reason(write("scan.pdf", make_pdf("", pages=2, footer=False)), "application/pdf")
    assert message.startswith("no text in PDF") and "OCR" in message


def test_binary_content_under_a_text_name(write):
    assert reason(write("data.txt", b"\x00\x01\x02binary"), "text/plain") == (
        "could not read text file: it holds binary data, not text"
    )


def test_zip_bombs_are_refused_before_parsing(write, tmp_path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 5_000_000)  # 5 MB of spaces deflate to a few KB
    assert bomb.stat().st_size < 100_000
    message = reason(bomb, DOCX, max_unzipped=1_000_000)
    assert "expands to 5.0 MB when unzipped" in message and "skipped" in message


# Extraction in a fresh process with its address space capped, so a reader that builds a bomb into memory fails
# there (MemoryError) instead of swapping the test machine; it reports its outcome and its peak RSS.
_MEASURE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from backend.errors import ExtractionError
from connector.extract import extract_text
try:
    outcome = "%d chars" % len(extract_text(sys.argv[1], "", "big.docx", 20_000_000))
except ExtractionError as exc:
    outcome = "refused: %s" % exc
print(outcome)
# VmHWM, not ru_maxrss: Linux carries the parent's peak (pytest with torch loaded) over an exec into ru_maxrss
print([int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")][0])
"""


def _extract_in_a_process(path: Path) -> tuple[str, int]:
    """(outcome line, peak RSS in MB) of extracting `path` in a child process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    outcome, peak = done.stdout.strip().splitlines()[-2:]
    return outcome, int(peak)


def test_a_bomb_of_empty_paragraphs_is_refused_in_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.docx"
    write_large_docx(bomb, 100_000_000, varied=False)  # 100 MB of <w:p/> declared honestly, in ~200 kB
    assert bomb.stat().st_size < 1_000_000
    outcome, peak_mb = _extract_in_a_process(bomb)
    assert outcome.startswith("refused: Word document has more than") and "zip bomb" in outcome, outcome
    assert peak_mb < 200, peak_mb  # python-docx's whole tree of it: 3-4 GB


def test_a_long_report_is_read_to_the_text_budget_in_bounded_memory(tmp_path):
    report = tmp_path / "report.docx"
    write_large_docx(report, 50_000_000)  # ~10 MB zipped: prose in short formatted runs, as Word writes it
    outcome, peak_mb = _extract_in_a_process(report)
    assert outcome.endswith(" chars") and 1_900_000 < int(outcome.split()[0]) <= 2_000_000, outcome  # the budget
    assert peak_mb < 200, peak_mb  # python-docx: ~550 MB for this one, 1.1 GB for a 20 MB file


def test_a_part_read_whole_is_capped_and_a_forged_size_reads_as_corrupt(write, tmp_path):
    deck = zipfile.ZipFile(io.BytesIO(make_pptx([("Plan", ["ship it"])])))
    padded = tmp_path / "padded.pptx"
    with zipfile.ZipFile(padded, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in deck.infolist():
            data = deck.read(info.filename)
            if info.filename == "ppt/slides/slide1.xml":  # a slide is parsed whole: 17 MB of it is a bomb
                data = data.replace(b"</p:sld>", b"<!---->" * 2_500_000 + b"</p:sld>")  # 2.5M nodes in a tree
            out.writestr(info.filename, data)
    message = reason(padded, PPTX)
    assert "ppt/slides/slide1.xml" in message and "parsed whole" in message and "16.0 MB" in message
    # a zip directory that understates a part's size does not get more inflated: zipfile stops at the declared
    # size and the CRC check fails
    forged = _understate(make_docx(["word " * 200_000]), "word/document.xml", 1000)
    assert "Bad CRC-32" in reason(write("forged.docx", forged), DOCX)


def _understate(zipped: bytes, member: str, size: int) -> bytes:
    """The zip with `member`'s uncompressed size set to `size` in its local header and central directory entry."""
    data = bytearray(zipped)
    info = zipfile.ZipFile(io.BytesIO(zipped)).getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        if data[at + 46:at + 46 + len(member)] == member.encode():
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_pypdf_repair_warnings_stay_at_debug(write):
    pdf = make_pdf("repaired text")
    start = pdf.rindex(b"startxref\n") + len(b"startxref\n")
    broken = pdf[:start] + b"999" + pdf[pdf.index(b"\n", start) :]  # a wrong xref offset pypdf works around
    # What an app's log handlers (on the root logger) receive; caplog would not do: pytest also hooks
    # non-propagating loggers directly.
    root, seen = logging.getLogger(), _Collect()
    level = root.level
    root.addHandler(seen)
    root.setLevel(logging.DEBUG)
    try:
        assert "repaired text" in extract(write("repaired.pdf", broken), "application/pdf")
    finally:
        root.removeHandler(seen)
        root.setLevel(level)
    assert not [r for r in seen.records if r.levelno >= logging.WARNING]
    assert any(r.levelno == logging.DEBUG and "incorrect startxref" in r.getMessage() for r in seen.records)


def test_table_rows_are_never_cut_mid_row_at_the_budget(write):
    rows = "\n".join(f"{r},value {r},more text" for r in range(500))
    text = extract(write("rows.csv", rows.encode()), "text/csv", max_chars=1000)
    assert len(text) <= 1000
    assert all(line.startswith("| ") and line.endswith(" |") for line in text.splitlines())
