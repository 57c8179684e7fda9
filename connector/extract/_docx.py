"""Word files read as a stream: the body is parsed one block (paragraph, table) at a time and freed behind,
so memory stays flat however long the document is, and reading stops as soon as the text budget is spent.

python-docx built the whole body as one tree first: a 19 MB report (97 MB of XML) peaked at 1.1 GB of RSS, and
a 124 kB zip of 60 MB of empty paragraphs at 2.2 GB after 4 minutes. Only the small parts we need whole (the
relationships, styles.xml) are parsed as trees, and `_office.check_zip` caps their size.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from backend.errors import ExtractionError
from connector.extract._common import SinkFull, TextSink

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = "/officeDocument"  # relationship type suffix of the main part (strict and transitional)
_STYLES = "/styles"
DEFAULT_MAIN = "word/document.xml"
# Body blocks read at most: a 300-page report has ~5,000 paragraphs. Past this, a file of empty paragraphs (a zip
# bomb's favourite: 6 bytes each) stops costing CPU long before the character budget would notice.
MAX_BLOCKS = 200_000
# XML elements in one block (a paragraph or a whole table) before reading stops: about 150 MB of tree at ~150
# bytes an element. A 5,000-row table of 8 columns is ~250k elements; a single "paragraph" of millions of empty
# runs is a bomb.
MAX_BLOCK_NODES = 1_000_000
_TEXT_TAGS = (W + "t", W + "tab", W + "ptab", W + "br", W + "cr", W + "noBreakHyphen")


def read_docx(path: Path, sink: TextSink) -> None:
    with zipfile.ZipFile(path) as archive:
        main = _target(archive, "_rels/.rels", "", _OFFICE_DOCUMENT) or DEFAULT_MAIN
        folder = posixpath.dirname(main)
        rels = posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels")
        styles_part = _target(archive, rels, folder, _STYLES) or posixpath.join(folder, "styles.xml")
        styles, default = _style_names(archive, styles_part)
        with archive.open(main) as body:
            try:
                for n, block in enumerate(_body_blocks(body), start=1):
                    if n > MAX_BLOCKS:
                        raise _TooMuch(f"more than {MAX_BLOCKS:,} paragraphs and tables")
                    if block.tag == W + "tbl":
                        _table(block, sink)
                    else:
                        _paragraph(block, styles, default, sink)
            except _TooMuch as exc:
                if not sink.size:  # all structure, no text: the shape of a zip bomb, not of a document
                    raise ExtractionError(f"Word document has {exc} before any text; skipped as a likely zip "
                                          "bomb") from None
                sink.truncated = True  # like the text budget: keep what was read, say it was cut
                raise SinkFull from None


def _parse(archive: zipfile.ZipFile, name: str) -> etree._Element | None:
    try:
        data = archive.read(name)
    except KeyError:
        return None
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def _target(archive: zipfile.ZipFile, rels: str, folder: str, type_suffix: str) -> str | None:
    """The part a relationship of this type points to, as a name inside the zip."""
    root = _parse(archive, rels)
    for rel in root.iter(_REL) if root is not None else ():
        if rel.get("Type", "").endswith(type_suffix) and rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
    return None


def _style_names(archive: zipfile.ZipFile, name: str) -> tuple[dict[str, str], str]:
    """styleId -> the name Word shows ("heading 1" is stored, "Heading 1" shown), and the default paragraph style."""
    from docx.styles import BabelFish

    names: dict[str, str] = {}
    default = "Normal"
    root = _parse(archive, name)
    for style in root.iter(W + "style") if root is not None else ():
        shown = style.find(W + "name")
        if shown is None:
            continue
        names[style.get(W + "styleId", "")] = BabelFish.internal2ui(shown.get(W + "val", ""))
        if style.get(W + "type") == "paragraph" and style.get(W + "default") in ("1", "true", "on"):
            default = names[style.get(W + "styleId", "")]
    return names, default


def _body_blocks(stream: IO[bytes]) -> Iterator[etree._Element]:
    """Each paragraph and table directly in <w:body>, in order; each is freed once the caller is done with it."""
    parser = etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True)
    nodes = 0
    for _event, element in parser:
        nodes += 1
        parent = element.getparent()
        if parent is None or parent.tag != W + "body":
            if nodes > MAX_BLOCK_NODES:  # one block that alone would fill memory: stop with what we have
                raise _TooMuch(f"a paragraph or table of more than {MAX_BLOCK_NODES:,} XML elements")
            continue
        nodes = 0
        if element.tag in (W + "p", W + "tbl"):
            yield element
        element.clear()
        while element.getprevious() is not None:  # the blocks before it are done: drop them from the tree
            del parent[0]


class _TooMuch(Exception):  # noqa: N818 - a signal inside this module, turned into SinkFull or ExtractionError
    pass


def _text(paragraph: etree._Element) -> str:
    """What Word shows of a paragraph, whitespace collapsed (python-docx's Paragraph.text, then split/join)."""
    parts = []
    for node in paragraph.iter(*_TEXT_TAGS):
        if node.tag == W + "t":
            parts.append(node.text or "")
        elif node.tag == W + "noBreakHyphen":
            parts.append("-")
        else:
            parts.append(" ")
    return " ".join("".join(parts).split())


def _paragraph(paragraph: etree._Element, styles: dict[str, str], default: str, sink: TextSink) -> None:
    text = _text(paragraph)
    if not text:
        return
    style_id = paragraph.find(f"{W}pPr/{W}pStyle")
    style = styles.get(style_id.get(W + "val", ""), default) if style_id is not None else default
    level = heading_level(style)
    if level:
        sink.add(f"\n{'#' * level} {text}\n\n")
    elif style.startswith("List"):
        sink.line(f"- {text}")
    else:
        sink.add(f"{text}\n\n")


def heading_level(style: str) -> int:
    if style == "Title":
        return 1
    if style.startswith("Heading "):
        digits = style.removeprefix("Heading ").strip()
        return min(int(digits), 6) if digits.isdigit() else 0
    return 0


def _table(table: etree._Element, sink: TextSink) -> None:
    """Pipe rows as python-docx's row.cells gives them: a merged cell's text once per row, then empty cells for the
    rest of its span; a vertically merged cell repeats the text of the cell above."""
    sink.add("\n")
    above: dict[int, str] = {}  # grid column -> text of the cell there in the previous row
    for row in table.iterchildren(W + "tr"):
        values: list[str] = []
        here: dict[int, str] = {}
        for cell in row.iterchildren(W + "tc"):
            props = cell.find(W + "tcPr")
            span_el = props.find(W + "gridSpan") if props is not None else None
            merge = props.find(W + "vMerge") if props is not None else None
            span = int(span_el.get(W + "val", "1")) if span_el is not None else 1
            column = len(values)
            if merge is not None and merge.get(W + "val", "continue") == "continue":
                text = above.get(column, "")
            else:
                text = "\n".join(_text(p) for p in cell.iterchildren(W + "p"))
            here[column] = text
            values.extend([text] + [""] * (max(span, 1) - 1))
        above = here
        sink.row(values)
    sink.add("\n")
