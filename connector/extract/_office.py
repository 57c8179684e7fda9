"""PowerPoint and Excel to text with headings and pipe-row tables, and the size checks for every OOXML zip (Word
is read by `_docx`)."""

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
# Why 16 MB: a part parsed into one tree takes 10-40x its size in memory (60 MB of empty Word paragraphs took
# 2.2 GB in python-docx). The parts read whole (slides, styles, relationships, shared strings) are far smaller in
# real files: a big deck's largest slide is a few hundred kB. Word bodies and Excel sheets are streamed instead.
MAX_PART = 16_000_000


def check_zip(path: Path, kind: str, max_unzipped: int, max_part: int = MAX_PART) -> None:
    """Refuse files that are not zips, that inflate past `max_unzipped` bytes, or that have a part read whole (not
    streamed) larger than `max_part`.

    The sizes checked are the ones the zip directory declares, and they bound what is inflated for real: Python's
    zipfile stops a member at its declared size and then fails its CRC check (a forged small size reads as a
    corrupt file, not as a bomb).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"could not read {kind}: not a valid Office file (bad zip: {exc})") from exc
    total = sum(info.file_size for info in infos)
    if total > max_unzipped:
        raise ExtractionError(
            f"{kind} expands to {megabytes(total)} when unzipped, over the {megabytes(max_unzipped)} safety limit; "
            "skipped"
        )
    for info in infos:
        if info.file_size > max_part and _read_whole(info.filename):
            raise ExtractionError(
                f"{kind} has a part of {megabytes(info.file_size)} ({info.filename}) that would be parsed whole, "
                f"over the {megabytes(max_part)} safety limit for such parts; skipped"
            )


def _read_whole(name: str) -> bool:
    """Whether the readers load this part whole. Word bodies (our streaming reader), Excel worksheets (openpyxl's
    read-only mode) and parts nobody reads (Word headers, media, ...) are not; slides, shared strings and styles are."""
    if name.startswith("word/"):
        return name in ("word/styles.xml", "word/_rels/document.xml.rels")
    return not (name.startswith("xl/worksheets/") or name.startswith(("ppt/media/", "xl/media/")))


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
