"""What a sync does to keep the index no wider than Confluence: permission refresh, hiding, pruning, repairs.

Split from the runner by role: the runner walks pages and writes what changed; this pass decides who may still
see what is indexed. Narrowing never waits: documents the sync account's listing no longer shows are hidden from
every reader at once (backend/visibility.py), and only their deletion waits for the prune guard; a space the sync
account cannot read is hidden; a space an admin removed or disabled stops the sync at its next checkpoint.
Widening needs no new version either: listed pages the index lacks, or holds incomplete, join the pass.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from backend.acl_update import IndexedDoc, update_acl
from backend.errors import LoreError, SourceError, SourceNotFound
from backend.indexer import Indexer
from backend.settings import Settings
from backend.spaces import SpaceConfig, SpaceState, SpaceStore
from backend.visibility import hide_documents, hide_space, purge_space
from connector.report import SpaceReport
from connector.source import Existence, Source, SpaceView, Unit

HIDDEN_GONE = "no longer in the sync account's listing (moved out of its sight, restricted or deleted)"
HIDDEN_UNREADABLE = "the space cannot be read by the sync account"


class SpaceRetired(LoreError):
    """An admin removed or disabled the space while it was being synced: stop at the next checkpoint."""

    code = "space_retired"

    def __init__(self, key: str, removed: bool):
        what = "removed" if removed else "disabled"
        super().__init__(f"Space {key} was {what} while it was being synced; the sync stopped and its content "
                         f"was {'deleted from' if removed else 'hidden in'} the index.")
        self.removed = removed


class AccessPass:
    """Mixed into `connector.runner.SyncRunner`, whose attributes these methods use."""

    es: Elasticsearch
    settings: Settings
    source: Source
    store: SpaceStore
    indexer: Indexer
    options: object  # connector.runner.SyncOptions (prune_max_fraction, prune_min_guard, allow_mass_delete)

    # ---- permissions and pruning ----------------------------------------------------------------

    def _open(self, space: SpaceConfig, indexed: dict[str, IndexedDoc], report: SpaceReport,
              derived: dict[str, IndexedDoc] | None = None) -> SpaceView:
        """List the space; when the sync account lost it, its former readers lose it too, before the failure
        (with the documents `derived` from its content by other pipelines: meeting transcripts)."""
        try:
            return self.source.open_space(space)
        except SourceError as exc:
            if _unreadable(exc):
                self._hide(indexed, HIDDEN_UNREADABLE, report)
                if derived:
                    self._hide(derived, HIDDEN_UNREADABLE, report)
            raise

    def _refresh_permissions(self, space: SpaceConfig, view: SpaceView, indexed: dict[str, IndexedDoc],
                             touched: set[str], report: SpaceReport) -> None:
        """Documents this pass did not visit: compare their ACL with the listing's, rewrite what changed."""
        changes: dict[str, dict] = {}
        now_restricted: list[str] = []
        for doc_id, current in indexed.items():
            if doc_id in touched:
                continue
            access = view.access_of(doc_id, current.parent_id)
            if access is None:
                continue  # gone from the listing: the prune decides
            if space.unrestricted_only and access.restricted:
                now_restricted.append(doc_id)
            elif current.access != access.fields():
                changes[doc_id] = access.fields()
        if changes:
            update_acl(self.es, self.indexer.alias, changes)
            report.permissions_updated += len(changes)
        if now_restricted:
            self.indexer.delete_documents(now_restricted)
            report.deleted += len(now_restricted)
            report.notes.append(f"{len(now_restricted)} documents became restricted and were removed "
                                "(this space indexes unrestricted content only)")
            for d in now_restricted:
                indexed.pop(d, None)

    def _prune(self, existence: Existence, indexed: dict[str, IndexedDoc], state: SpaceState,
               report: SpaceReport) -> bool:
        """Delete what a complete listing no longer shows; False when nothing was deleted for safety (an
        incomplete listing, or the guard hid what was gone instead)."""
        if not existence.top_complete:
            report.notes.append("the space listing was incomplete: nothing was pruned")
            return False
        gone = [d for d, current in indexed.items() if existence.gone(d, current.parent_id)]
        guard = max(self.options.prune_min_guard, int(self.options.prune_max_fraction * len(indexed)))
        if len(gone) > guard and not self.options.allow_mass_delete:
            # the delete waits for an admin; who may see them must not: hidden from every reader until they
            # are listed again (then the permission refresh writes their access back) or deleted
            self._hide({d: indexed[d] for d in gone}, HIDDEN_GONE, report)
            report.error("prune", f"the listing no longer shows {len(gone)} of {len(indexed)} indexed documents; "
                         "they are hidden from every reader, but nothing was deleted in case the listing was wrong "
                         "(or the sync account lost access to them). If they really were deleted, run "
                         "`python -m connector sync --space KEY --full --allow-mass-delete`.")
            return False
        if gone:
            self.indexer.delete_documents(gone)
            report.deleted += len(gone)
        for d, skip in list(state.skips.items()):
            if existence.gone(d, skip.get("parent")):
                state.skips.pop(d)
        return True

    def _hide(self, docs: dict[str, IndexedDoc], reason: str, report: SpaceReport) -> None:
        for doc_id in hide_documents(self.es, self.indexer.alias, docs):
            report.hidden.append({"id": doc_id, "reason": reason})

    def _with_missing(self, view: SpaceView, units: list[Unit], indexed: dict[str, IndexedDoc], state: SpaceState,
                      space: SpaceConfig, report: SpaceReport, incremental: bool) -> list[Unit]:
        """Add to this pass the listed pages it would not visit but must index, whatever the cursor says.

        - The pages of incomplete documents (a refused chunk, a write cut short, an old index), on any pass.
        - On an incremental pass, listed pages the index lacks or holds at another version: lifting a restriction
          or moving a page into the sync account's sight bumps no version, so CQL's `lastmodified` never returns
          it; the space listing (already in hand, no extra call) does. Items skipped at this version, and
          restricted ones of an unrestricted-only space, are left out: they would only be skipped again.
        Units stay oldest first, so a checkpoint never moves the cursor back.
        """
        broken = [d for d, current in indexed.items() if not current.complete]
        incomplete = {indexed[d].parent_id or d for d in broken}  # the pages to visit for them
        have = {u.doc.id for u in units}
        extra = []
        for unit in view.units():
            doc = unit.doc
            if doc.id in have:
                continue
            if doc.id not in incomplete:
                current = indexed.get(doc.id)
                if not incremental or (current is not None and current.version == doc.version):
                    continue
                known = state.skips.get(doc.id)
                if (known and known.get("version") == doc.version) or (space.unrestricted_only
                                                                       and doc.access.restricted):
                    continue
            extra.append(unit)
        if broken:
            report.notes.append(f"{len(broken)} documents were incomplete in the index (a failed or interrupted "
                                "write): they are indexed again")
        if not extra:
            return units
        report.notes.append(f"{len(extra)} listed pages were missing from the index, stale or incomplete there "
                            "although Confluence shows no new version (a lifted restriction, a move, or an earlier "
                            "failure): indexed in this pass")
        return sorted([*units, *extra], key=lambda u: u.modified)

    def _still_wanted(self, key: str, configured: bool) -> None:
        """Stop a sync whose space an admin removed or disabled meanwhile (checked at every checkpoint)."""
        if not configured:
            return
        current = self.store.get_space(key)
        if current is None or not current.enabled:
            raise SpaceRetired(key, removed=current is None)

    def _retire(self, key: str, removed: bool, report: SpaceReport) -> None:
        """What the admin's removal or disabling already did, done again for what this sync wrote since."""
        try:
            if removed:
                report.deleted += purge_space(self.es, self.settings, key, self.source.name)
            else:
                for doc_id in hide_space(self.es, self.settings, key, self.source.name):
                    report.hidden.append({"id": doc_id, "reason": "the space was disabled by an admin"})
        except LoreError as exc:
            report.error("retire", f"could not finish {'purging' if removed else 'hiding'} the space: {exc.message}")

def _unreadable(exc: SourceError) -> bool:
    """The space itself answered 404 or 403 to the sync account (not an expired token, not throttling)."""
    return isinstance(exc, SourceNotFound) or exc.code == "http_403"
