"""Word, PowerPoint and Excel (the OOXML zip formats) to text with headings and pipe-row tables."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from backend.errors import ExtractionError
from connector.extract._common import TextSink, megabytes

# Why 500 MB: python-docx and python-pptx build the whole XML tree in memory (several times the XML size), so a
# small zip that inflates to gigabytes (a zip bomb, or a huge generated report) must be refused before parsing.
# Real documents stay far below: a 300-page Word file has a few MB of XML.
MAX_UNZIPPED = 500_000_000


def check_zip(path: Path, kind: str, max_unzipped: int) -> None:
    """Refuse files that are not zips or that inflate past `max_unzipped` bytes."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"could not read {kind}: not a valid Office file (bad zip: {exc})") from exc
    if total > max_unzipped:
        raise ExtractionError(
            f"{kind} expands to {megabytes(total)} when unzipped, over the {megabytes(max_unzipped)} safety limit; "
            "skipped"
        )


def read_docx(path: Path, sink: TextSink) -> None:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            _docx_table(block, sink)
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = _heading_level(style)
        if level:
            sink.add(f"\n{'#' * level} {text}\n\n")
        elif style.startswith("List"):
            sink.line(f"- {text}")
        else:
            sink.add(f"{text}\n\n")


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    if style.startswith("Heading "):
        digits = style.removeprefix("Heading ").strip()
        return min(int(digits), 6) if digits.isdigit() else 0
    return 0


def _docx_table(table: Any, sink: TextSink) -> None:
    sink.add("\n")
    for row in table.rows:
        seen: set[int] = set()
        values = []
        for cell in row.cells:
            # python-docx repeats a merged cell once per grid column it spans; show its text once
            key = id(cell._tc)
            values.append("" if key in seen else cell.text)
            seen.add(key)
        sink.row(values)
    sink.add("\n")


def read_pptx(path: Path, sink: TextSink) -> None:
    from pptx import Presentation

    deck = Presentation(str(path))
    for number, slide in enumerate(deck.slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        sink.add(f"# {title or f'Slide {number}'}\n\n")
        for shape in slide.shapes:
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            _pptx_shape(shape, sink)
        if slide.has_notes_slide:
            notes = " ".join(slide.notes_slide.notes_text_frame.text.split())
            if notes:
                sink.add(f"Notes: {notes}\n")
        sink.add("\n")


def _pptx_shape(shape: Any, sink: TextSink) -> None:
    if getattr(shape, "shapes", None) is not None:  # a group: its children carry the text
        for child in shape.shapes:
            _pptx_shape(child, sink)
    elif getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            sink.row(cell.text for cell in row.cells)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            text = " ".join(paragraph.text.split())
            if text:
                sink.line(f"{'  ' * paragraph.level}- {text}")


def read_xlsx(path: Path, sink: TextSink) -> None:
    from openpyxl import load_workbook

    # read_only streams rows instead of building every cell object; data_only gives cached values, not formulas
    book = load_workbook(str(path), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            if hasattr(sheet, "reset_dimensions"):
                # a stale <dimension ref="A1:XFD1048576"> would pad every row to 16k empty cells
                sheet.reset_dimensions()
            _sheet(sheet.title, sheet.iter_rows(values_only=True), sink)
    finally:
        book.close()  # read-only workbooks keep the zip open until closed


def _sheet(title: str, rows: Iterable[Iterable[object]], sink: TextSink) -> None:
    """A heading per sheet that has any value (empty sheets would be headings over nothing)."""
    started = False
    for row in rows:
        if not started and any(v is not None and str(v).strip() for v in row):
            sink.add(f"# {title}\n\n")
            started = True
        sink.row(row)
    if started:
        sink.add("\n")
