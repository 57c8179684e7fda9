"""The sync runner: turns a source's spaces into index writes, resumably, without re-embedding what did not change.

Per space and sync: list the space (ids, versions, permissions); go through the pages to do (all of them on a
full pass, those modified since the cursor minus an overlap on an incremental one), oldest first, in batches;
fetch and index only changed versions; rewrite the ACL fields of documents whose permissions changed (moves
and restriction changes do not bump Confluence versions, so every sync re-checks every indexed document
against the listing, which costs no extra calls); prune what complete listings no longer show; checkpoint the
cursor after every batch so a crash resumes where it stopped. A document counts as indexed once its completion
marker is written (backend/markers.py): one without (a refused chunk, a write cut short) is indexed again on the
next sync, wherever the cursor stands.

Who may still see what is decided by the access pass mixed in from connector/access.py: narrowed access is
hidden at once, only deletions wait for the prune guard.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from backend.acl_update import IndexedDoc, indexed_docs, update_acl
from backend.documents import Document
from backend.embeddings import Embedder
from backend.errors import LoreError, RateLimited, ServiceUnavailable, SourceAuthError
from backend.indexer import Indexer
from backend.locks import SpaceLock, SpaceLocked, default_owner
from backend.settings import Settings
from backend.spaces import SpaceConfig, SpaceState, SpaceStore, now_iso
from connector.access import AccessPass, SpaceRetired
from connector.report import SpaceReport, SyncReport
from connector.requeue import RequeuePass, listed, needs_listing, remembered, settled
from connector.source import Skipped, Source, SourceDoc, Unit
from connector.transcripts import TranscriptPass

log = logging.getLogger(__name__)

# Errors that end a space's sync (the next call would fail the same way); others are per item.
FATAL = (SourceAuthError, RateLimited, ServiceUnavailable)


@dataclass(frozen=True)
class SyncOptions:
    """Runner knobs; `from_settings` takes them from the `LORE_CONFLUENCE_*` settings."""

    batch_size: int = 25  # pages per batch: each batch is indexed, then the cursor is checkpointed
    overlap_minutes: int = 10  # incremental syncs re-read this window before the cursor (minute-precision CQL)
    # an incremental sync becomes a full pass (every page's comments and attachments listed, then pruned) once a
    # day: deletions of attachments and comments on unchanged pages are only visible that way. Onyx prunes weekly;
    # a day bounds how long a deleted file stays findable, at 2 listing calls per page per day.
    full_every_hours: float = 24.0
    workers: int = 4  # parallel listings / downloads against Confluence
    # a prune that would delete more than this share of a space's documents is refused (a listing that came
    # back short without an error must not empty the index); `allow_mass_delete` overrides it once
    prune_max_fraction: float = 0.5
    prune_min_guard: int = 20  # ... but deleting up to this many documents is always allowed
    allow_mass_delete: bool = False
    lock_seconds: float = 120.0  # lease of the per-space sync lock, renewed every third of it (backend/locks.py)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> SyncOptions:
        conf = settings.confluence
        values = {
            "overlap_minutes": conf.overlap_minutes,
            "workers": max(1, conf.workers),
            "batch_size": conf.sync_batch_size,
            "full_every_hours": conf.full_sync_hours,
            "lock_seconds": conf.sync_lock_seconds,
        }
        return cls(**{**values, **overrides})


@dataclass
class Progress:
    space: str
    phase: str  # listing | indexing | permissions | pruning | done
    done: int  # pages done
    total: int
    batches: int
    report: SpaceReport


ProgressHook = Callable[[Progress], None]


class SyncRunner(AccessPass, TranscriptPass, RequeuePass):
    def __init__(self, settings: Settings, es: Elasticsearch, embedder: Embedder, source: Source,
                 store: SpaceStore | None = None, progress: ProgressHook | None = None,
                 options: SyncOptions | None = None, indexer: Indexer | None = None):
        self.settings = settings
        self.es = es
        self.embedder = embedder
        self.source = source
        self.store = store or SpaceStore(es, settings.es)
        self.progress = progress
        self.options = options or SyncOptions.from_settings(settings)
        self.indexer = indexer or Indexer(es, settings, embedder)
        self._lock: SpaceLock | None = None  # the lease of the space being synced

    # ---- entry points ---------------------------------------------------------------------------

    def sync_all(self, full: bool = False) -> SyncReport:
        return self.sync([s for s in self.store.list_spaces() if s.enabled], full)

    def sync(self, spaces: Iterable[SpaceConfig], full: bool = False) -> SyncReport:
        report = SyncReport()
        spaces = list(spaces)
        for i, space in enumerate(spaces):
            space_report = self.sync_space(space, full)
            report.spaces.append(space_report)
            if space_report.error_code == SourceAuthError.code:  # the token is shared: every space would fail
                for rest in spaces[i + 1:]:
                    report.spaces.append(SpaceReport(rest.key, status="failed", last_error=space_report.last_error,
                                                     error_code=space_report.error_code))
                break
        return report

    def sync_space(self, space: SpaceConfig, full: bool = False) -> SpaceReport:
        """Sync one space while holding its lock; a space another sync holds is left alone and reported."""
        self.indexer.ensure_index()
        sync_id = uuid.uuid4().hex[:12]
        try:
            self._lock = SpaceLock.acquire(self.store, space.key, default_owner(sync_id), self.options.lock_seconds)
        except SpaceLocked as exc:
            log.warning("%s", exc.message, extra={"sync_id": sync_id})
            report = SpaceReport(space.key, sync_id=sync_id, started=now_iso(), status="busy",
                                 last_error=exc.message, error_code=exc.code)
            self._emit(report, "done", 0, 0)
            return report
        try:
            return self._sync_locked(space, full, sync_id)
        finally:
            self._lock.release()
            self._lock = None

    def _sync_locked(self, space: SpaceConfig, full: bool, sync_id: str) -> SpaceReport:
        state = self.store.get_state(space.key)
        report = SpaceReport(space.key, sync_id=sync_id, started=now_iso(), resumed=state.in_progress)
        if self._lock is not None and self._lock.took_over:
            report.notes.append(f"took over the expired sync lock of {self._lock.took_over} (a sync that died)")
        report.mode = "full" if full or self._full_due(state) else "incremental"
        # an interrupted full pass resumes: the pages it finished (up to its checkpoint, minus the overlap) are
        # not listed again; what they hold is in the index already
        interrupted_full = state.in_progress and state.mode == "full" and state.resume_from
        resume_from = datetime.fromisoformat(state.resume_from) if report.mode == "full" and interrupted_full \
            else None
        state.resume_from = state.resume_from if resume_from else None
        state.in_progress, state.mode, state.sync_id, state.started = True, report.mode, report.sync_id, report.started
        # only a space that is configured now can be retired by an admin mid-sync (tests and the evaluation
        # sync spaces they never configured)
        current = self.store.get_space(space.key)
        configured = current is not None and current.enabled
        self.store.save_state(state)
        started, calls = time.monotonic(), self.embedder.calls
        retired: SpaceRetired | None = None
        try:
            self._run(space, state, report, resume_from, configured)
            report.status = "partial" if report.errors else "ok"
            state.in_progress, state.last_error = False, None
        except SpaceRetired as exc:
            retired = exc
            report.status, report.last_error, report.error_code = "stopped", exc.message, exc.code
            state.in_progress, state.last_error = False, exc.message
            self._retire(space.key, exc.removed, report)
        except LoreError as exc:
            report.status, report.last_error, report.error_code = "failed", exc.message, exc.code
            state.last_error = exc.message
            log.warning("sync of space %s failed: %s", space.key, exc.message, extra={"sync_id": report.sync_id})
        except BaseException as exc:  # a crash or an interrupt: keep the checkpoint, say so, and let it rise
            report.status, report.last_error = "failed", f"interrupted: {type(exc).__name__}: {exc}"[:500]
            state.last_error = report.last_error
            raise
        finally:
            report.duration_s = time.monotonic() - started
            report.embed_calls = self.embedder.calls - calls
            state.finished = now_iso()
            state.last_report = report.to_dict()
            # a removed space's state went with it; after a lost lock the state belongs to the new holder
            if (retired is None or not retired.removed) and not (self._lock and self._lock.lost_to):
                self._save_quietly(state)
        self._emit(report, "done", report.pages, 0)
        return report

    # ---- one space ------------------------------------------------------------------------------

    def _run(self, space: SpaceConfig, state: SpaceState, report: SpaceReport, resume_from: datetime | None,
             configured: bool) -> None:
        self._emit(report, "listing", 0, 0)
        indexed = indexed_docs(self.es, self.indexer.alias, self.source.name, space.key)
        transcripts = self._transcripts(space.key)  # the minutes job's, made from this space's recordings
        view = self._open(space, indexed, report, transcripts)
        state.timezone = view.timezone
        cursor = self._cursor(state)
        since = None
        if report.mode == "incremental" and cursor is not None:
            since = cursor - timedelta(minutes=self.options.overlap_minutes)
        units = view.units(since)
        if resume_from is not None:
            skip_before = resume_from - timedelta(minutes=self.options.overlap_minutes)
            done_before = [u for u in units if u.modified < skip_before]
            units = units[len(done_before):]
            report.notes.append(f"resumed an interrupted full sync: {len(done_before)} pages done before were "
                                "not listed again")
        units = self._with_missing(view, units, indexed, state, space, report, incremental=since is not None)
        report.total = len(units)
        self._emit(report, "indexing", 0, 0)
        touched: set[str] = set()
        frozen = False
        with ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="lore-sync") as pool:
            for n, start in enumerate(range(0, len(units), self.options.batch_size), start=1):
                window = units[start:start + self.options.batch_size]
                if not self._batch(space, state, report, window, indexed, touched, pool):
                    frozen = True  # an item failed: later pages are indexed, but the cursor stays before it
                report.pages += len(window)
                if not frozen:
                    self._checkpoint(state, report.mode, window[-1].modified)
                if self._lock is not None:
                    self._lock.check()  # never write the state of a space another sync now holds
                self._still_wanted(space.key, configured)
                self.store.save_state(state)
                self._emit(report, "indexing", report.pages, n)
        self._still_wanted(space.key, configured)
        self._emit(report, "permissions", report.pages, 0)
        self._refresh_permissions(space, view, indexed, touched, report)
        self._emit(report, "pruning", report.pages, 0)
        existence = view.existing()
        pruned = self._prune(existence, indexed, state, report)
        self._follow_pages(space, view, existence, pruned, transcripts, state, report)
        self._reoffer_recordings(space.key, existence, state.recordings, report)  # connector/requeue.py
        if report.mode == "full":
            state.last_full = report.started
            # the cursor moves to the newest item done without a gap (the checkpoint stops at a failed item)
            if state.resume_from:
                self._checkpoint(state, "incremental", datetime.fromisoformat(state.resume_from))
            state.resume_from = None
        state.last_permissions = report.started
        self.indexer.refresh()

    def _batch(self, space: SpaceConfig, state: SpaceState, report: SpaceReport, window: list[Unit],
               indexed: dict[str, IndexedDoc], touched: set[str], pool: ThreadPoolExecutor) -> bool:
        """One batch of pages: list children, decide, fetch what changed, index, fix ACLs. False if an item failed."""
        ok = True
        skip_children = {id(u) for u in window if space.unrestricted_only and u.doc.access.restricted}
        listed = list(pool.map(lambda u: _attempt(u.children) if u.children and id(u) not in skip_children
                               else [], window))
        todo: list[SourceDoc] = []
        acl_changes: dict[str, dict] = {}
        deletions: set[str] = set()
        for unit, kids in zip(window, listed, strict=True):
            if isinstance(kids, LoreError):
                _raise_if_fatal(kids)
                report.error(unit.doc.id, f"comments and attachments could not be listed: {kids.message}")
                kids, ok = [], False
            for doc in [unit.doc, *kids]:
                touched.add(doc.id)
                if self._decide(doc, space, state, report, indexed, acl_changes, deletions):
                    todo.append(doc)
        docs: list[Document] = []
        for doc, text in zip(todo, pool.map(lambda d: _attempt(lambda: d.fetch(d)), todo), strict=True):
            if isinstance(text, Skipped):
                self._skipped(doc.id, doc.title, doc.kind, doc.version, doc.parent_id, text.reason,
                              state, report, indexed, deletions)
            elif isinstance(text, LoreError):
                _raise_if_fatal(text)
                report.error(doc.id, text.message)
                ok = False
            else:  # a page with no body text comes back from the indexer as skipped (see _index)
                state.skips.pop(doc.id, None)
                docs.append(doc.document(text))
        ok = self._index(docs, state, report, indexed, deletions) and ok
        if acl_changes:
            report.permissions_updated += len(acl_changes)
            update_acl(self.es, self.indexer.alias, acl_changes)
        if deletions:
            self.indexer.delete_documents(deletions)
            report.deleted += len([d for d in deletions if d in indexed])
            for d in deletions:
                indexed.pop(d, None)
        return ok

    def _decide(self, doc: SourceDoc, space: SpaceConfig, state: SpaceState, report: SpaceReport,
                indexed: dict[str, IndexedDoc], acl_changes: dict[str, dict], deletions: set[str]) -> bool:
        """True when `doc` must be fetched and indexed; everything else is settled here."""
        if doc.kind == "recording":
            self._recording(doc, state, report)
            return False
        if space.unrestricted_only and doc.access.restricted:
            report.skip(doc, "restricted: this space indexes unrestricted content only")
            if doc.id in indexed:
                deletions.add(doc.id)
            return False
        current = indexed.get(doc.id)
        if current is not None and current.version == doc.version:
            report.unchanged += 1
            wanted = doc.access.fields()
            if current.access != wanted:
                acl_changes[doc.id] = wanted
            return False
        known = state.skips.get(doc.id)
        if current is None and known and known.get("version") == doc.version:
            report.skip(doc, known.get("reason", "skipped"))  # same version as last time: no second download
            return False
        return True

    def _skipped(self, doc_id: str, title: str, kind: str, version: str, parent_id: str | None, reason: str,
                 state: SpaceState, report: SpaceReport, indexed: dict[str, IndexedDoc], deletions: set[str]) -> None:
        report.skipped.append({"id": doc_id, "title": title, "kind": kind, "reason": reason})
        state.skips[doc_id] = {"version": version, "reason": reason, "parent": parent_id}
        if doc_id in indexed:  # the indexed text belongs to a version that no longer exists
            deletions.add(doc_id)

    def _index(self, docs: list[Document], state: SpaceState, report: SpaceReport,
               indexed: dict[str, IndexedDoc], deletions: set[str]) -> bool:
        if not docs:
            return True
        result = self.indexer.index_documents(docs)
        report.chunks += result.chunks
        not_indexed = set(result.failed_docs)
        for doc_id, reason in result.skipped:
            doc = next(d for d in docs if d.id == doc_id)
            if reason.startswith("text truncated"):
                report.notes.append(f"{doc_id}: {reason}")
                continue
            not_indexed.add(doc_id)
            self._skipped(doc.id, doc.title, doc.kind, doc.version, doc.parent_id, reason, state, report, indexed,
                          deletions)
        for err in result.errors:
            report.error(err["doc_id"], f"index refused chunk {err['chunk_id']}: {err['reason']}")
        for doc in docs:
            if doc.id in not_indexed:
                continue
            if doc.id in indexed:
                report.updated += 1
            else:
                report.added += 1
        return not result.errors

    def _recording(self, doc: SourceDoc, state: SpaceState, report: SpaceReport) -> None:
        known = state.recordings.get(doc.id)
        if settled(known, doc.version):
            known.update(remembered(doc))  # entries stored before the page was remembered get it now
            report.unchanged += 1
            return
        try:
            status = doc.handoff(doc) if doc.handoff else "recording noted"
        except LoreError as exc:
            _raise_if_fatal(exc)
            status = f"hand-off failed: {exc.message}"
        state.recordings[doc.id] = listed(doc, status, report)
        report.recordings.append({"id": doc.id, "title": doc.title, "page": doc.parent_id, "status": status})

    # ---- helpers --------------------------------------------------------------------------------

    def _full_due(self, state: SpaceState) -> bool:
        # recordings stored without their page (by an older version) are found again by one full pass
        if state.last_modified is None or (state.in_progress and state.mode == "full") or needs_listing(
                state.recordings):
            return True
        if not state.last_full:
            return True
        age = datetime.now(UTC) - datetime.fromisoformat(state.last_full)
        return age >= timedelta(hours=self.options.full_every_hours)

    @staticmethod
    def _checkpoint(state: SpaceState, mode: str, reached: datetime) -> None:
        """Incremental passes move the cursor; a full pass records how far it got (the cursor moves at its end)."""
        if mode == "full":
            state.resume_from = reached.isoformat()
        else:
            current = datetime.fromisoformat(state.last_modified) if state.last_modified else None
            state.last_modified = max(filter(None, [current, reached])).isoformat()

    @staticmethod
    def _cursor(state: SpaceState) -> datetime | None:
        return datetime.fromisoformat(state.last_modified) if state.last_modified else None

    def _emit(self, report: SpaceReport, phase: str, done: int, batches: int) -> None:
        if self.progress is not None:
            self.progress(Progress(report.space, phase, done, report.total, batches, report))

    def _save_quietly(self, state: SpaceState) -> None:
        try:
            self.store.save_state(state)
        except LoreError as exc:  # the index is down too: the report still reaches the caller
            log.warning("could not save the sync state of %s: %s", state.key, exc.message)


def _attempt(fn: Callable):
    """Run `fn`, returning a LoreError or Skipped instead of raising it (for pool.map)."""
    try:
        return fn()
    except (LoreError, Skipped) as exc:
        return exc


def _raise_if_fatal(exc: LoreError) -> None:
    if isinstance(exc, FATAL):
        raise exc

