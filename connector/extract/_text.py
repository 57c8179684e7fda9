"""Plain text, Markdown, CSV and HTML attachments, read as a stream so a big file never sits in memory twice."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

from backend.errors import ExtractionError
from connector.confluence.storage import storage_to_text
from connector.extract._common import TextSink

_SAMPLE = 65_536  # bytes read to choose an encoding and spot binary content
_READ = 1_048_576  # characters per read of a text stream
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Why 1M: the csv module's default field limit is 128 KB; a long quoted note in an export is legitimate.
_CSV_FIELD_LIMIT = 1_000_000


def sniff_encoding(path: Path, kind: str) -> str:
    """UTF-8 when it decodes, the BOM's encoding when there is one, else Windows-1252 (never fails)."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:
        raise ExtractionError(f"could not read {kind}: it holds binary data, not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a cut multi-byte tail is fine
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def read_text(path: Path, sink: TextSink, kind: str = "text file") -> None:
    encoding = sniff_encoding(path, kind)
    with path.open(encoding=encoding, errors="replace", newline=None) as fh:
        while chunk := fh.read(_READ):
            sink.add(chunk)


def read_csv(path: Path, sink: TextSink, delimiter: str | None = None) -> None:
    encoding = sniff_encoding(path, "CSV file")
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(fh.read(_SAMPLE // 4), delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","  # one column, or too irregular to tell: the comma is the common case
            fh.seek(0)
        for row in csv.reader(fh, delimiter=delimiter):
            sink.row(row)


def read_html(path: Path, sink: TextSink) -> None:
    # Size was checked against max_bytes before we got here, so reading it whole is bounded.
    encoding = sniff_encoding(path, "HTML file")
    sink.add(storage_to_text(path.read_text(encoding=encoding, errors="replace")))
