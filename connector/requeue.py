"""Recordings whose minutes are not done are offered to the minutes pipeline again at every sync, from state.

An incremental sync lists the attachments of changed pages only, so a recording whose hand-off did not take
(Redis down, no pipeline yet, a job that failed or expired from rq) used to wait for its page to change or for
the daily full pass. The sync state remembers each recording (`SpaceState.recordings`: version, status, the
page, title and link as the listing showed them); this pass, run after the space's pages, asks the hand-off
hook to re-offer the ones that are not done, least recently checked first, at most REOFFER_PER_SYNC a sync.
The hook (connector/recordings.py) leaves live jobs alone and recognises done minutes; the job's own
exactly-once record guards the minutes page whatever happens here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connector.report import SpaceReport
from connector.source import Existence, Source, SourceDoc

log = logging.getLogger(__name__)

# Recordings looked at per sync: each costs one Redis read, plus one Confluence read when its job is gone
# (then never again once its minutes are seen done). Enqueueing faster than this gains nothing: a worker takes
# minutes per recording, so a backlog of hundreds (a space synced before the pipeline existed) drains at 50 per
# sync anyway, and a sync stays seconds longer at most.
REOFFER_PER_SYNC = 50


def remembered(doc: SourceDoc) -> dict:
    """What the state keeps of a listed recording, so it can be offered again without listing its page."""
    return {"page": doc.parent_id, "title": doc.title, "url": doc.url}


def checked(report: SpaceReport) -> dict:
    """Marks a recording as looked at by this sync (skipped by its re-offer pass, last in the next one's order);
    microseconds, as two syncs can start within one second."""
    return {"checked": datetime.now(UTC).isoformat(), "checked_by": report.sync_id}


def listed(doc: SourceDoc, status: str, report: SpaceReport) -> dict:
    """The state's record of a recording the listing handed off with this status."""
    from connector.recordings import FAILED

    failed = {"failed": doc.version} if status.startswith(FAILED) else {}  # a damaged file: not offered again
    return {"version": doc.version, "status": status, **remembered(doc), **checked(report), **failed}


def needs_listing(recordings: dict[str, dict]) -> bool:
    """Recordings stored before the page was remembered can only be found again by listing every page."""
    return any(not rec.get("page") for rec in recordings.values())


def settled(known: dict | None, version: str) -> bool:
    """Nothing to hand off for this version: its job exists, its minutes are done, or its file is damaged."""
    from connector.recordings import is_queued

    return bool(known) and known.get("version") == version and (
        is_queued(known.get("status", "")) or version in (known.get("done"), known.get("failed")))


class RequeuePass:
    """Mixed into `connector.runner.SyncRunner`, whose attributes these methods use."""

    source: Source

    def _reoffer_recordings(self, space_key: str, existence: Existence, recordings: dict[str, dict],
                            report: SpaceReport) -> None:
        """Forget recordings the listing shows gone; offer again those whose minutes are not done."""
        for doc_id, rec in list(recordings.items()):
            page = rec.get("page")
            if page and existence.gone(doc_id, page):
                del recordings[doc_id]  # the recording or its page was deleted: nothing to make minutes of
            elif not page and report.mode == "full" and not report.resumed:
                del recordings[doc_id]  # stored by an older version and not listed again by a whole pass
        reoffer = getattr(getattr(self.source, "on_recording", None), "reoffer", None)
        if reoffer is None:  # no minutes pipeline behind this source
            return
        due = [(doc_id, rec) for doc_id, rec in recordings.items()
               if rec.get("page") and rec.get("version") not in (rec.get("done"), rec.get("failed"))
               and rec.get("checked_by") != report.sync_id]
        due.sort(key=lambda item: item[1].get("checked") or "")
        queued = 0
        for doc_id, rec in due[:REOFFER_PER_SYNC]:
            version = int(rec["version"]) if str(rec["version"]).isdigit() else rec["version"]
            offer = reoffer(_native(rec["page"]), _native(doc_id), version, rec.get("title", ""), space_key)
            rec.update(checked(report), status=offer.status)
            if offer.outcome == "done":
                rec["done"] = rec["version"]
            if offer.outcome == "failed":  # the file is damaged: not offered again until a new version comes
                rec["failed"] = rec["version"]
            if offer.outcome in ("queued", "unavailable"):
                report.recordings.append({"id": doc_id, "title": rec.get("title", ""), "page": rec["page"],
                                          "status": f"offered again: {offer.status}"})
            queued += offer.outcome == "queued"
            if offer.outcome == "unavailable":
                break  # Redis or the pipeline is missing: every other recording would fail the same way
        if queued:
            report.notes.append(f"{queued} recordings whose minutes were not done were queued for minutes again")
        if len(due) > REOFFER_PER_SYNC:
            report.notes.append(f"{len(due) - REOFFER_PER_SYNC} recordings without minutes wait for the next sync "
                                f"(at most {REOFFER_PER_SYNC} are looked at per sync)")


def _native(doc_id: str) -> str:
    """`confluence:attachment:123` -> `123` (the hook speaks the source's own ids)."""
    return doc_id.rsplit(":", 1)[-1]
