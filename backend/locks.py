"""One sync per space at a time, across processes and hosts: a lease document in the config index.

`lock:<KEY>` holds the owner (host, pid, sync id), when it was taken and when it expires. It is created
with `op_type=create` (exactly one creator wins); an expired one is taken over with `if_seq_no` /
`if_primary_term` (exactly one taker wins). While held, a heartbeat thread (and every checkpoint of the
runner) pushes the expiry forward, so the lease stays short however long one batch takes (a 5 MB page is
thousands of chunks to embed), and a holder that died frees its space within `ttl` seconds. A holder that
finds its lease taken over (it could not renew for longer than `ttl`) learns it at its next `check()` and
must stop writing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elasticsearch import ConflictError, NotFoundError

from backend.errors import LoreError
from backend.es import translated
from backend.spaces import SpaceStore, lock_is_live, now_iso

log = logging.getLogger(__name__)


class SpaceLocked(LoreError):
    """Another sync holds the space. Nothing was touched; the next scheduled run will try again."""

    code = "sync_running"
    http_status = 409

    def __init__(self, key: str, owner: str, since: str, expires: str):
        super().__init__(f"space {key} is already being synced by {owner} since {since}; this run left it alone. "
                         f"If that process is dead, its lock expires at {expires} and the next sync proceeds.")
        self.owner, self.since, self.expires = owner, since, expires


class LockLost(LoreError):
    code = "sync_lock_lost"

    def __init__(self, key: str, owner: str):
        super().__init__(f"this sync of space {key} lost its lock to {owner} (it could not renew it in time, "
                         "e.g. Elasticsearch was unreachable); it stopped so that two syncs never write at once. "
                         "The next sync resumes from the last checkpoint.")


def lock_id(key: str) -> str:
    return f"lock:{key}"


def default_owner(sync_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{sync_id}"


@dataclass
class _Held:
    seq_no: int
    primary_term: int


class SpaceLock:
    """A held lease on one space; `release()` it (or use it as a context manager)."""

    def __init__(self, store: SpaceStore, key: str, owner: str, ttl: float, took_over: str | None = None):
        self.store, self.key, self.owner, self.ttl = store, key, owner, ttl
        self.took_over = took_over  # the owner of an expired lock this one replaced, if any
        self.lost_to: str | None = None
        self.since = now_iso()
        self._held: _Held | None = None
        self._stop = threading.Event()
        self._mutex = threading.Lock()  # renew and release never interleave their seq_no bookkeeping
        self._thread: threading.Thread | None = None

    # ---- taking ---------------------------------------------------------------------------------

    @classmethod
    def acquire(cls, store: SpaceStore, key: str, owner: str, ttl: float, heartbeat: bool = True) -> SpaceLock:
        """Take the lease on `key` or raise `SpaceLocked` naming who holds it."""
        lock = cls(store, key, owner, ttl)
        store.ensure()
        es, index = store.es, store.index
        with translated(es, f"taking the sync lock of space {key}"):
            try:
                resp = es.index(index=index, id=lock_id(key), document=lock._body(), op_type="create", refresh=True)
            except ConflictError:
                resp = lock._take_over()
        lock._held = _Held(resp["_seq_no"], resp["_primary_term"])
        if heartbeat:
            lock._thread = threading.Thread(target=lock._beat, name=f"lore-lock-{key}", daemon=True)
            lock._thread.start()
        return lock

    def _take_over(self) -> dict:
        es, index = self.store.es, self.store.index
        try:
            current = es.get(index=index, id=lock_id(self.key))
        except NotFoundError:  # released between our create and this read: create again
            return es.index(index=index, id=lock_id(self.key), document=self._body(), op_type="create", refresh=True)
        doc = current["_source"]
        if lock_is_live(doc):
            raise SpaceLocked(self.key, doc.get("owner", "?"), doc.get("since", "?"), doc.get("expires", "?"))
        try:
            resp = es.index(index=index, id=lock_id(self.key), document=self._body(), refresh=True,
                            if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"])
        except ConflictError:  # another process took it over first
            winner = es.get(index=index, id=lock_id(self.key))["_source"]
            raise SpaceLocked(self.key, winner.get("owner", "?"), winner.get("since", "?"),
                              winner.get("expires", "?")) from None
        self.took_over = doc.get("owner", "?")
        log.warning("space %s: took over the expired sync lock of %s (expired %s)", self.key, self.took_over,
                    doc.get("expires"))
        return resp

    def _body(self) -> dict:
        expires = datetime.now(UTC) + timedelta(seconds=self.ttl)
        return {"kind": "lock", "key": self.key, "owner": self.owner, "since": self.since,
                "expires": expires.isoformat(timespec="seconds"), "updated": now_iso()}

    # ---- holding --------------------------------------------------------------------------------

    def renew(self) -> None:
        """Push the expiry forward; records the loss (see `check`) if someone else holds the lock now."""
        es, index = self.store.es, self.store.index
        with self._mutex:
            if self._held is None or self.lost_to:
                return
            try:
                resp = es.index(index=index, id=lock_id(self.key), document=self._body(), refresh=True,
                                if_seq_no=self._held.seq_no, if_primary_term=self._held.primary_term)
            except (ConflictError, NotFoundError):
                try:
                    self.lost_to = es.get(index=index, id=lock_id(self.key))["_source"].get("owner", "?")
                except NotFoundError:
                    self.lost_to = "nobody (the lock was deleted)"
                log.error("space %s: sync lock lost to %s", self.key, self.lost_to)
                return
            self._held = _Held(resp["_seq_no"], resp["_primary_term"])

    def check(self) -> None:
        """Renew now (the runner calls this at every checkpoint) and raise `LockLost` when the lease was taken
        over meanwhile: the caller must stop writing."""
        with translated(self.store.es, f"renewing the sync lock of space {self.key}"):
            self.renew()
        if self.lost_to:
            raise LockLost(self.key, self.lost_to)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):  # three tries before the lease could lapse
            try:
                self.renew()
            except Exception as exc:  # noqa: BLE001 - Elasticsearch briefly away: try again next beat
                log.warning("space %s: could not renew the sync lock: %s", self.key, exc)

    # ---- letting go -----------------------------------------------------------------------------

    def release(self) -> None:
        """Delete the lock if it is still ours (a lost one belongs to its new holder)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._mutex:
            held, self._held = self._held, None
            if held is None or self.lost_to:
                return
            try:
                self.store.es.delete(index=self.store.index, id=lock_id(self.key), refresh=True,
                                     if_seq_no=held.seq_no, if_primary_term=held.primary_term)
            except (ConflictError, NotFoundError):
                pass
            except Exception as exc:  # noqa: BLE001 - it expires by itself; the sync's result stands
                log.warning("space %s: could not release the sync lock (it expires by itself): %s", self.key, exc)

    def abandon(self) -> None:
        """Stop renewing without releasing, as a process that died would (tests, and nothing else)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> SpaceLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
