"""PDF text through pypdf, page by page, with pypdf's robustness chatter kept out of the logs."""

from __future__ import annotations

import logging
from pathlib import Path

from backend.errors import ExtractionError
from connector.extract._common import TextSink, short_reason

log = logging.getLogger(__name__)


class _ToDebug(logging.Handler):
    """pypdf logs a WARNING for every quirk it repairs in a broken-but-readable PDF; one scanned archive can
    produce thousands. We re-log them under our name at DEBUG, where they help when someone asks for them."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("pypdf %s: %s", record.name, record.getMessage())


def _quiet_pypdf() -> None:
    # pypdf logs through `logging.getLogger(<module>)` under the "pypdf" tree; records propagate to this logger,
    # whose handler demotes them and stops them reaching the root handlers. Done once, idempotently.
    pypdf_log = logging.getLogger("pypdf")
    if not any(isinstance(h, _ToDebug) for h in pypdf_log.handlers):
        pypdf_log.addHandler(_ToDebug())
        pypdf_log.propagate = False


def read_pdf(path: Path, sink: TextSink) -> None:
    _quiet_pypdf()
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    reader = PdfReader(path)
    if reader.is_encrypted:
        # Many PDFs carry only an owner password (printing/editing limits) and open with an empty user password.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise ExtractionError(
                "encrypted PDF, skipped: its AES encryption needs the 'cryptography' package on the connector"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - pypdf raises several kinds for unsupported handlers
            raise ExtractionError(f"encrypted PDF, skipped: {short_reason(exc)}") from exc
        if opened == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("encrypted PDF, skipped: it needs a password; attach an unprotected copy to index it")
    pages = reader.pages
    failed = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - one broken page must not cost the whole document
            failed += 1
            log.debug("PDF page %d could not be read: %s", number, short_reason(exc))
            continue
        if text.strip():
            sink.add(text.strip() + "\n\n")
    if failed and failed == len(pages):
        raise ExtractionError(f"could not read PDF: none of its {failed} pages could be read")
    if not sink.text():
        raise ExtractionError("no text in PDF: it is probably scanned images (OCR is not supported)")
