"""Post minutes as a child page of the recording's page, exactly once per recording across retries and crashes.

The record is a content property on the recording's page, one per attachment (`<key>-<attachment id>`):

    {"state": "claimed" | "posted", "claimed": [titles tried], "page_id": "...", "title": "...", "version": 3}

A title is claimed (written) before the page is created, so a worker that dies between the create and the
record finds its page again (a child of the recording page, with a claimed title, created by the token's own
account) and adopts it instead of creating a second one. The record is re-read right before each create.
A newer version of the recording updates the page the record names; an older or equal one changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from backend.confluence.write import ConfluenceWriter
from backend.errors import SourceError, SourceNotFound

log = logging.getLogger(__name__)

MAX_TITLE_TRIES = 20  # "Minutes: X (date)", "... (2)", ... : twenty pages with one name is a mistake, not a meeting
MAX_TITLE_CHARS = 255  # Confluence's limit on page titles


@dataclass
class Posted:
    page_id: str
    title: str
    url: str
    action: str  # "created" | "updated" | "unchanged" (this version was posted before)


def minutes_title(meeting: str, date: str = "") -> str:
    meeting = " ".join(meeting.split()) or "meeting"
    suffix = f" ({date})" if date else ""
    return f"Minutes: {meeting[: MAX_TITLE_CHARS - len('Minutes: ') - len(suffix) - 5]}{suffix}"


def property_key(prefix: str, attachment_id: str) -> str:
    return f"{prefix}-{attachment_id}"


def posted_record(writer: ConfluenceWriter, recording_page_id: str, key: str) -> dict:
    prop = writer.client.get_property(recording_page_id, key)
    return dict((prop or {}).get("value") or {})


def post_minutes(writer: ConfluenceWriter, *, recording_page_id: str, space: str, key: str, version: int,
                 title: str, body: str, read_identities: list[str]) -> Posted:
    """Create or update the minutes page of one recording; `read_identities` is the recording page's own read
    restriction ([] when it has none: the child page inherits its ancestors' restrictions either way)."""
    record = posted_record(writer, recording_page_id, key)
    page = _existing(writer, recording_page_id, record)
    if page is not None and record.get("state") == "posted" and int(record.get("version", 0)) >= version:
        return Posted(page["id"], page["title"], writer.page_url(page), "unchanged")
    if page is not None:
        writer.update_page(page["id"], page["title"], body)  # keeps the title: people may have renamed it
        action = "updated"
    else:
        page, record = _create(writer, recording_page_id, space, key, version, title, body, record)
        if record.get("state") == "posted" and int(record.get("version", 0)) >= version:
            return Posted(page["id"], page["title"], writer.page_url(page), "unchanged")
        action = "created"
    if read_identities:
        writer.set_read_restriction(page["id"], read_identities)
    record.update(state="posted", page_id=page["id"], title=page["title"], version=version)
    writer.client.set_property(recording_page_id, key, record)
    log.info("minutes %s", action, extra={"page_id": recording_page_id, "minutes_page": page["id"]})
    return Posted(page["id"], page["title"], writer.page_url(page), action)


def _existing(writer: ConfluenceWriter, parent_id: str, record: dict) -> dict | None:
    """The minutes page the record names, or one an earlier try created under a claimed title."""
    if record.get("page_id"):
        try:
            return writer.page(record["page_id"])
        except SourceNotFound:  # someone deleted the minutes page: a new one is created
            log.info("the recorded minutes page is gone; creating a new one", extra={"page_id": record["page_id"]})
            record.pop("page_id", None)
            record["state"] = "claimed"
    return _adopt(writer, parent_id, record.get("claimed", []))


def _adopt(writer: ConfluenceWriter, parent_id: str, titles: list[str]) -> dict | None:
    if not titles:
        return None
    me = writer.account_id()
    for child in writer.child_pages(parent_id):
        creator = (child.get("history") or {}).get("createdBy") or {}
        if child.get("title") in titles and (creator.get("accountId") or creator.get("userKey")) == me:
            return writer.page(child["id"])
    return None


def _create(writer: ConfluenceWriter, parent_id: str, space: str, key: str, version: int, title: str, body: str,
            record: dict) -> tuple[dict, dict]:
    for candidate in _titles(title):
        record.setdefault("claimed", [])
        if candidate not in record["claimed"]:
            record["claimed"].append(candidate)
        record["state"] = "claimed"
        writer.client.set_property(parent_id, key, record)
        fresh = posted_record(writer, parent_id, key)  # re-checked right before posting: did another try finish?
        if fresh.get("state") == "posted" and fresh.get("page_id"):
            try:
                return writer.page(fresh["page_id"]), fresh
            except SourceNotFound:
                pass
        try:
            return writer.create_page(space, candidate, body, parent_id), record
        except SourceError as exc:
            if exc.code != "title_exists":
                raise
            mine = _adopt(writer, parent_id, [candidate])  # our own page from a try that died before recording
            if mine is not None:
                writer.update_page(mine["id"], mine["title"], body)
                return mine, record
            log.info("a page titled %r exists; trying another title", candidate)
    raise SourceError(f"Could not find a free title for the minutes page after {MAX_TITLE_TRIES} tries "
                      f"({title!r}, {title!r} (2), ...): rename or remove the pages that carry those titles.",
                      code="title_exists")


def _titles(title: str) -> Iterator[str]:
    yield title
    for n in range(2, MAX_TITLE_TRIES + 1):
        yield f"{title} ({n})"
