"""Meeting transcripts follow their recording page at every sync: the page's access of now, and its fate.

The minutes job (backend/minutes/jobs.py) indexes one transcript per recording (`confluence:transcript:<att id>`,
source `minutes`, `parent_id` the recording page's document id) with the page's permissions as they were when it
ran. The connector's own pass touches only its own documents, so this pass, run after it, gives each transcript
of the space the access the listing shows for its page, hides it when the page left the sync account's sight and
the prune guard keeps the page, and deletes it with its page, its recording attachment, or the recording version
it transcribed (a newer version's job writes the new one).
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from backend.acl_update import IndexedDoc, indexed_docs, update_acl
from backend.indexer import Indexer
from backend.minutes.jobs import TRANSCRIPT_SOURCE
from backend.spaces import SpaceConfig, SpaceState
from backend.visibility import hide_documents
from connector.report import SpaceReport
from connector.source import Existence, SpaceView

HIDDEN_PAGE_GONE = "its recording page is no longer in the sync account's listing (moved, restricted or deleted)"
PAGE_KINDS = ("page", "blogpost")  # what a recording can be attached to


class TranscriptPass:
    """Mixed into `connector.runner.SyncRunner`, whose attributes these methods use."""

    es: Elasticsearch
    indexer: Indexer

    def _transcripts(self, space: str) -> dict[str, IndexedDoc]:
        """The transcripts indexed under a space (the space their recording page was in when the job ran)."""
        return indexed_docs(self.es, self.indexer.alias, TRANSCRIPT_SOURCE, space)

    def _follow_pages(self, space: SpaceConfig, view: SpaceView, existence: Existence, pruned: bool,
                      transcripts: dict[str, IndexedDoc], state: SpaceState, report: SpaceReport) -> None:
        """Rewrite, hide or delete each transcript as its page and recording now stand."""
        if not transcripts:
            return
        changes: dict[str, dict] = {}
        hide: dict[str, IndexedDoc] = {}
        delete: list[str] = []
        for doc_id, current in transcripts.items():
            page = _page_doc_id(current.parent_id or "", existence)
            recording = recording_doc_id(doc_id)
            access = view.access_of(doc_id, page)
            if access is None:  # the page is gone from the listing: the transcript goes the way the page goes
                if existence.top_complete and pruned:
                    delete.append(doc_id)
                elif existence.top_complete:  # the prune guard kept the page: hidden, like it
                    hide[doc_id] = current
            elif existence.gone(recording, page) or _superseded(current, state.recordings.get(recording)):
                delete.append(doc_id)
            elif space.unrestricted_only and access.restricted:
                delete.append(doc_id)
            elif current.access != access.fields():
                changes[doc_id] = access.fields()
        if changes:
            update_acl(self.es, self.indexer.alias, changes)
            report.permissions_updated += len(changes)
        for doc_id in hide_documents(self.es, self.indexer.alias, hide):
            report.hidden.append({"id": doc_id, "reason": HIDDEN_PAGE_GONE})
        if delete:
            self.indexer.delete_documents(delete)
            report.deleted += len(delete)
            report.notes.append(f"{len(delete)} meeting transcripts were removed with their recording page, "
                                "recording, or recording version")


def recording_doc_id(transcript_id: str) -> str:
    """`confluence:transcript:<att id>` -> the recording attachment's document id in the connector's listing."""
    return f"confluence:attachment:{transcript_id.rsplit(':', 1)[-1]}"


def _page_doc_id(parent_id: str, existence: Existence) -> str:
    """The page's document id; transcripts indexed before parent_id held it carry the bare Confluence id."""
    if ":" in parent_id:
        return parent_id
    candidates = [f"confluence:{kind}:{parent_id}" for kind in PAGE_KINDS]
    return next((c for c in candidates if c in existence.ids), candidates[0])


def _superseded(current: IndexedDoc, recording: dict | None) -> bool:
    """The listing shows a newer version of the recording than the one transcribed."""
    if recording is None or not current.complete:  # an incomplete write has no version to compare
        return False
    try:
        return int(recording.get("version", 0)) > int(current.version or 0)
    except ValueError:
        return False
