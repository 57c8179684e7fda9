"""Real attachment files built at test time (nothing binary is committed): PDF, DOCX, PPTX, XLSX.

pypdf cannot lay out text, so `make_pdf` writes a minimal PDF by hand (Helvetica, WinAnsi, exact xref offsets);
the Office formats come from the same libraries real users' files are read with.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

_PAGE_W, _PAGE_H = 612, 792  # US Letter in points
_MARGIN = 72  # one inch
_LEADING = 14  # points between lines of 11 pt text


def _pdf_escape(line: str) -> str:
    raw = line.encode("cp1252", "replace").decode("latin-1")  # Helvetica's WinAnsi encoding
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(lines: Sequence[str]) -> bytes:
    ops = ["BT", "/F1 11 Tf", f"{_LEADING} TL", f"{_MARGIN} {_PAGE_H - _MARGIN} Td"]
    for line in lines:
        ops.append(f"({_pdf_escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def make_pdf(text: str, pages: int = 1, *, footer: bool = True) -> bytes:
    """A valid PDF whose every page shows `text` (one PDF line per text line) and then "Page n of N".

    `make_pdf("", footer=False)` has pages with no text at all, like a scan without OCR.
    """
    lines = text.split("\n") if text else []
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page object numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for n in range(1, pages + 1):
        stream = _page_stream([*lines, f"Page {n} of {pages}"] if footer else lines)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (_PAGE_W, _PAGE_H, content_ref)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary comment line: tells tools the file is binary
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_encrypted_pdf(text: str, user_password: str = "s3cret", owner_password: str = "owner") -> bytes:
    """`make_pdf(text)` encrypted with RC4-128 (pypdf needs no extra crypto package for it).

    An empty `user_password` gives the common "owner password only" PDF that opens without asking.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(text))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_corrupt_pdf() -> bytes:
    """Starts like a PDF, then garbage: no objects, no xref, no trailer (a download cut short and mangled)."""
    head = make_pdf("this file was cut short")[:40]
    return head + bytes((i * 37 + 11) % 256 for i in range(400))


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word file. A paragraph starting with "# "/"## " becomes Heading 1/2; "- " a bulleted item.

    The table (first row as header) goes after the paragraphs.
    """
    import docx

    document = docx.Document()
    for text in paragraphs:
        if text.startswith("#"):
            level = len(text) - len(text.lstrip("#"))
            document.add_heading(text[level:].strip(), level=level)
        elif text.startswith("- "):
            document.add_paragraph(text[2:], style="List Bullet")
        else:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(r) for r in table))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx(slides: list[tuple[str, list[str]]], notes: dict[int, str] | None = None) -> bytes:
    """A deck: one (title, bullet lines) per slide, optional speaker notes keyed by 0-based slide index."""
    from pptx import Presentation

    deck = Presentation()
    layout = deck.slide_layouts[1]  # "Title and Content" in the default template
    for index, (title, bullets) in enumerate(slides):
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        for i, bullet in enumerate(bullets):
            paragraph = body.paragraphs[0] if i == 0 else body.add_paragraph()
            paragraph.text = bullet
        if notes and index in notes:
            slide.notes_slide.notes_text_frame.text = notes[index]
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with one worksheet per entry, rows written as given (None leaves a cell empty)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(title=name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_large_docx(path, body_bytes: int, *, varied: bool = True, seed: int = 7) -> None:
    """A Word file at `path` whose body (word/document.xml) holds about `body_bytes` of paragraphs.

    Built next to python-docx's own parts but without its object model, streamed into the zip (a 400 MB body
    never sits in memory). `varied=True`: random words that compress about like real prose with markup (a long
    report near the 20 MB attachment cap); `varied=False`: empty paragraphs that deflate ~1000:1, as a zip bomb
    does, with honest sizes in the zip directory.
    """
    import random
    import zipfile

    base = zipfile.ZipFile(io.BytesIO(make_docx(["placeholder"])))
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(20_000)]
    head, tail = base.read("word/document.xml").split(b"<w:p>", 1)[0], b"<w:sectPr/></w:body></w:document>"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in base.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, base.read(info.filename))
        with out.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(head)
            written = len(head)
            while written < body_bytes:
                if varied:  # paragraphs of short formatted runs, as Word writes them (spell-check, edits)
                    block = b"".join(b"<w:p>" + b"".join(
                        b'<w:r><w:rPr><w:lang w:val="en-GB"/></w:rPr><w:t xml:space="preserve">'
                        + " ".join(rng.choices(vocabulary, k=rng.randint(2, 8))).encode() + b" </w:t></w:r>"
                        for _ in range(12)) + b"</w:p>" for _ in range(20))
                else:  # empty paragraphs: the most elements per byte, the worst case for a parsed tree
                    block = b"<w:p/>" * 1000
                body.write(block)
                written += len(block)
            body.write(tail)
