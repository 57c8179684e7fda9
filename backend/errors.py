"""Lore's exception tree: every failure a user can see, with a message that says what to do next.

    LoreError                      message for a person, `code` for machines, `retryable` for jobs
    ├── ConfigError                a setting is missing or wrong (names the setting)
    ├── BadRequest                 the caller sent something unusable (empty question, ...)
    ├── NotAllowed                 missing or wrong API/admin token
    ├── ServiceUnavailable         Elasticsearch, Redis or the LLM server cannot be reached (retryable)
    ├── IndexError_                the index refused something
    │   ├── IndexMismatch          index mapping does not fit the model (dimension mismatch): reindex
    │   └── BulkError              per-item failures of a bulk write
    ├── SourceError                a content source (Confluence) failed
    │   ├── SourceAuthError        token expired or wrong (names the setting)
    │   ├── RateLimited            429/503 that outlived our retries (retryable)
    │   └── SourceNotFound         the item is gone (404)
    ├── ExtractionError            an attachment could not be turned into text (corrupt, encrypted, too big)
    └── LLMError                   the model server failed or answered garbage

Library exceptions are translated at the thin wrapper modules (es.py, llm.py, the Confluence client),
so nothing above them sees `elasticsearch.*` or `requests.*` exceptions.
"""

from __future__ import annotations

import re

# `scheme://user:password@host`: the userinfo part of any URL inside a message
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")


def redact_url(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@`: settings URLs may carry credentials."""
    return _USERINFO.sub(r"\1***@", url or "")


class LoreError(Exception):
    """Base of all Lore errors. `str(err)` is safe to show to a user (no secrets, no tracebacks)."""

    code = "lore_error"
    retryable = False
    http_status = 500

    def __init__(self, message: str, *, retryable: bool | None = None, code: str | None = None):
        message = redact_url(message)  # a URL from settings may carry user:password; no message repeats it
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class ConfigError(LoreError):
    code = "config_error"
    http_status = 500


class BadRequest(LoreError):
    code = "bad_request"
    http_status = 400


class NotAllowed(LoreError):
    code = "not_allowed"
    http_status = 401


class ServiceUnavailable(LoreError):
    code = "service_unavailable"
    retryable = True
    http_status = 503

    def __init__(self, service: str, url: str, detail: str = "", hint: str = ""):
        msg = f"{service} is not reachable at {url}"
        if detail:
            msg += f" ({detail})"
        msg += "."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)
        self.service = service
        self.url = redact_url(url)


class IndexError_(LoreError):  # noqa: N801 - trailing underscore: not the builtin IndexError
    code = "index_error"


class IndexMismatch(IndexError_):
    code = "index_mismatch"
    http_status = 409


class BulkError(IndexError_):
    code = "bulk_error"

    def __init__(self, message: str, failures: list[dict]):
        super().__init__(message)
        self.failures = failures


class SourceError(LoreError):
    code = "source_error"
    http_status = 502


class SourceAuthError(SourceError):
    code = "source_auth"


class RateLimited(SourceError):
    code = "rate_limited"
    retryable = True


class SourceNotFound(SourceError):
    code = "source_not_found"
    http_status = 404


class ExtractionError(LoreError):
    code = "extraction_error"
    http_status = 422


class LLMError(LoreError):
    code = "llm_error"
    http_status = 502
