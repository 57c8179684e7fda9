"""Attachment text extraction: PDF, Word, PowerPoint, Excel, CSV, text/Markdown and HTML files to plain text.

Every failure a user could see (unsupported, empty, too big, corrupt, encrypted, a recording) is an
`ExtractionError` whose message says why; no pypdf/docx/openpyxl exception leaves this package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backend.errors import ExtractionError
from connector.extract import _docx, _office, _pdf, _text
from connector.extract._common import MAX_CELLS, MAX_TEXT_CHARS, SinkFull, TextSink, megabytes, short_reason
from connector.extract._office import MAX_UNZIPPED

__all__ = ["MAX_CELLS", "MAX_TEXT_CHARS", "MAX_UNZIPPED", "extract_text", "is_recording", "kind_of"]

log = logging.getLogger(__name__)

_RECORDING_EXTENSIONS = frozenset({".mp3", ".m4a", ".wav", ".mp4", ".webm", ".mkv", ".mov", ".ogg", ".flac"})


@dataclass(frozen=True)
class _Kind:
    label: str  # how a user names the file type in an error message
    read: Callable[[Path, TextSink], None]
    zipped: bool = False  # an OOXML zip: checked for inflated size before parsing


_PDF = _Kind("PDF", _pdf.read_pdf)
_DOCX = _Kind("Word document", _docx.read_docx, zipped=True)
_PPTX = _Kind("PowerPoint deck", _office.read_pptx, zipped=True)
_XLSX = _Kind("Excel workbook", _office.read_xlsx, zipped=True)
_CSV = _Kind("CSV file", _text.read_csv)
_TSV = _Kind("TSV file", lambda path, sink: _text.read_csv(path, sink, delimiter="\t"))
_TXT = _Kind("text file", _text.read_text)
_HTML = _Kind("HTML file", _text.read_html)

_BY_MEDIA_TYPE = {
    "application/pdf": _PDF,
    "application/x-pdf": _PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _DOCX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _PPTX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.12": _XLSX,
    "text/csv": _CSV,
    "application/csv": _CSV,
    "text/tab-separated-values": _TSV,
    "text/plain": _TXT,
    "text/markdown": _TXT,
    "text/x-markdown": _TXT,
    "text/html": _HTML,
    "application/xhtml+xml": _HTML,
}
_BY_EXTENSION = {
    ".pdf": _PDF,
    ".docx": _DOCX,
    ".pptx": _PPTX,
    ".xlsx": _XLSX,
    ".xlsm": _XLSX,
    ".csv": _CSV,
    ".tsv": _TSV,
    ".txt": _TXT,
    ".text": _TXT,
    ".md": _TXT,
    ".markdown": _TXT,
    ".log": _TXT,
    ".html": _HTML,
    ".htm": _HTML,
}
_SUPPORTED = "PDF, DOCX, PPTX, XLSX, CSV, TXT, Markdown and HTML"


def _media_type(media_type: str) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()


def _extension(filename: str) -> str:
    return PurePosixPath((filename or "").strip()).suffix.lower()


def is_recording(media_type: str, filename: str) -> bool:
    """Audio and video go to the minutes pipeline, never to text extraction."""
    return _media_type(media_type).startswith(("audio/", "video/")) or _extension(filename) in _RECORDING_EXTENSIONS


def kind_of(media_type: str, filename: str) -> str | None:
    """The file type label we would extract as ("PDF", "Word document", ...), or None if unsupported.

    The media type decides; the extension is the fallback because Confluence often stores
    `application/octet-stream` (or a browser's guess) for uploads.
    """
    kind = _BY_MEDIA_TYPE.get(_media_type(media_type)) or _BY_EXTENSION.get(_extension(filename))
    return kind.label if kind else None


def extract_text(
    path: Path,
    media_type: str,
    filename: str,
    max_bytes: int,
    *,
    max_chars: int = MAX_TEXT_CHARS,
    max_cells: int = MAX_CELLS,
    max_unzipped: int = MAX_UNZIPPED,
) -> str:
    """The text of the attachment at `path`, structured for the chunker (`#` headings, `| a | b |` rows).

    Raises `ExtractionError` with the reason when the file is skipped. Text beyond `max_chars` is cut (logged).
    """
    if is_recording(media_type, filename):
        raise ExtractionError("recording: handled by the minutes pipeline")
    kind = _BY_MEDIA_TYPE.get(_media_type(media_type)) or _BY_EXTENSION.get(_extension(filename))
    if kind is None:
        shown = _media_type(media_type) or "no media type"
        raise ExtractionError(f"unsupported attachment type ({shown}, {filename!r}): Lore reads {_SUPPORTED}")
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExtractionError(f"could not read {kind.label}: the downloaded file is missing ({exc.strerror})") from exc
    if size == 0:
        raise ExtractionError("empty attachment")
    if size > max_bytes:
        raise ExtractionError(
            f"attachment is {megabytes(size)}, over the {megabytes(max_bytes)} limit for text extraction "
            "(raise LORE_CONFLUENCE_ATTACHMENT_MAX_BYTES to include it)"
        )
    sink = TextSink(max_chars=max_chars, max_cells=max_cells)
    try:
        if kind.zipped:
            _office.check_zip(path, kind.label, max_unzipped)
        kind.read(path, sink)
    except SinkFull:
        pass  # budget spent: keep what we have
    except ExtractionError:
        raise
    except RecursionError as exc:
        raise ExtractionError(f"could not read {kind.label}: its structure is nested too deeply") from exc
    except MemoryError as exc:
        raise ExtractionError(f"could not read {kind.label}: it needs more memory than the connector has") from exc
    except Exception as exc:  # noqa: BLE001 - the library boundary: every parser error becomes a reason
        raise ExtractionError(f"could not read {kind.label}: {short_reason(exc)}") from exc
    text = sink.text()
    if sink.truncated:
        log.info(
            "attachment text cut at the extraction budget",
            extra={"attachment": filename, "chars": len(text), "max_chars": max_chars, "max_cells": max_cells},
        )
    if not text:
        raise ExtractionError(f"no text found in {kind.label}")
    return text
