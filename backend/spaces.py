"""Which Confluence spaces Lore indexes, and where each space's sync stands (cursor, last report, lock).

All live in the small config index `settings.es.config_index`, one document per space, one per space state
and one per running sync (`lock:<KEY>`, see backend/locks.py), so the admin API (backend) can show them and
the connector can update them without a second store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from backend.errors import BadRequest
from backend.es import ensure_small_index, translated
from backend.settings import ElasticSettings

log = logging.getLogger(__name__)

# Confluence space keys: letters and digits (global spaces), `~` + account id or user name (personal spaces).
# The key is put into CQL, so quotes, spaces and backslashes are refused here rather than escaped later.
_KEY = re.compile(r"^~?[A-Za-z0-9][A-Za-z0-9_.:@-]{0,254}$")
_MAPPING = {
    # the documents are read by id or listed whole; nothing in them needs to be searchable but these
    "dynamic": False,
    "properties": {"kind": {"type": "keyword"}, "key": {"type": "keyword"}, "updated": {"type": "date"}},
}
MAX_LISTED = 1000  # more configured spaces than this is not a deployment this store was sized for


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SpaceConfig:
    """One space to index. `unrestricted_only` skips content with any read restriction in its page chain."""

    key: str
    enabled: bool = True
    unrestricted_only: bool = False
    name: str = ""  # a label for people; the key is what Confluence knows
    added: str = ""

    @classmethod
    def parse(cls, raw: Any) -> SpaceConfig:
        """A space from the admin API or the CLI: a key string or {key, enabled?, unrestricted_only?, name?}."""
        if isinstance(raw, str):
            raw = {"key": raw}
        if not isinstance(raw, dict):
            raise BadRequest(f"A space must be a key or an object with a 'key', not {type(raw).__name__}.")
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise BadRequest(f"Unknown space field(s) {', '.join(sorted(unknown))}: use key, enabled, "
                             "unrestricted_only, name.")
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY.match(key.strip()):
            raise BadRequest(f"Space key {key!r} is not a Confluence space key (letters and digits, or ~ and an "
                             "account id for a personal space).")
        for flag in ("enabled", "unrestricted_only"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise BadRequest(f"Space {key}: '{flag}' must be true or false, not {raw[flag]!r}.")
        if not isinstance(raw.get("name", ""), str):
            raise BadRequest(f"Space {key}: 'name' must be a string.")
        return cls(**{**raw, "key": key.strip()})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SpaceState:
    """Where a space's sync stands. `last_modified` is the cursor: the newest Confluence `lastmodified`
    (ISO, UTC) processed without a gap; incremental syncs re-read from it minus the overlap window."""

    key: str
    last_modified: str | None = None
    timezone: str = ""  # the token user's timezone CQL dates were written in (shown; the cursor is UTC)
    sync_id: str = ""
    in_progress: bool = False
    mode: str = ""  # full | incremental: what the running (or interrupted) sync was doing
    # how far a running full pass got (ISO, UTC), checkpointed after each batch: an interrupted full pass
    # resumes from here instead of listing every page's comments and attachments again
    resume_from: str | None = None
    started: str | None = None
    finished: str | None = None
    last_full: str | None = None  # when the last full sync (or prune pass) completed
    last_permissions: str | None = None  # when permissions of every indexed document were last re-read
    last_report: dict | None = None
    last_error: str | None = None
    # doc_id -> {"version", "reason"}: items skipped at this version (too big, corrupt, empty...) are not
    # downloaded again until their version changes
    skips: dict[str, dict] = field(default_factory=dict)
    # attachment doc_id -> {"version", "status"}: recordings handed to the minutes pipeline
    recordings: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> SpaceState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """What the admin API and `connector status` show (the skip/recording maps are summarised)."""
        data = self.to_dict()
        data["skips"] = len(self.skips)
        data["recordings"] = len(self.recordings)
        return data


class SpaceStore:
    """Spaces to index and their sync state, in `settings.es.config_index` (created on first use)."""

    def __init__(self, es: Elasticsearch, settings: ElasticSettings):
        self.es = es
        self.index = settings.config_index
        self._ready = False

    def ensure(self) -> None:
        if self._ready:
            return
        ensure_small_index(self.es, self.index, _MAPPING, "config index")
        self._ready = True

    # ---- spaces ---------------------------------------------------------------------------------

    def list_spaces(self) -> list[SpaceConfig]:
        return [SpaceConfig(**_known(SpaceConfig, d)) for d in self._list("space")]

    def get_space(self, key: str) -> SpaceConfig | None:
        data = self._get(f"space:{key}")
        return SpaceConfig(**_known(SpaceConfig, data)) if data else None

    def add_space(self, space: SpaceConfig) -> SpaceConfig:
        existing = self.get_space(space.key)
        space.added = existing.added if existing and existing.added else (space.added or now_iso())
        self._put(f"space:{space.key}", {"kind": "space", **space.to_dict()})
        return space

    def remove_space(self, key: str) -> bool:
        """Stop indexing `key`. Its sync state goes too; indexed documents stay until deleted separately."""
        self.ensure()
        with translated(self.es, f"removing space {key}"):
            try:
                self.es.delete(index=self.index, id=f"space:{key}", refresh=True)
            except NotFoundError:
                return False
            try:
                self.es.delete(index=self.index, id=f"state:{key}", refresh=True)
            except NotFoundError:
                pass
        return True

    def replace_spaces(self, spaces: Iterable[SpaceConfig]) -> list[SpaceConfig]:
        """Make the configured set exactly `spaces` (the admin API's PUT): add/update them, remove the rest."""
        wanted = {s.key: s for s in spaces}
        for key in [s.key for s in self.list_spaces() if s.key not in wanted]:
            self.remove_space(key)
        for space in wanted.values():
            self.add_space(space)
        return self.list_spaces()

    # ---- state ----------------------------------------------------------------------------------

    def get_state(self, key: str) -> SpaceState:
        data = self._get(f"state:{key}")
        return SpaceState.from_dict(data) if data else SpaceState(key)

    def save_state(self, state: SpaceState) -> None:
        self._put(f"state:{state.key}", {"kind": "state", "updated": now_iso(), **state.to_dict()})

    def states(self) -> dict[str, SpaceState]:
        return {d["key"]: SpaceState.from_dict(d) for d in self._list("state")}

    def status(self) -> list[dict]:
        """Per configured space: its config, cursor, last report and whether a sync runs now (what
        `GET /api/admin/status` returns). A sync marked in progress whose lock is gone or expired was
        interrupted (killed, crashed); with a live lock it is running."""
        states = self.states()
        locks = {d["key"]: d for d in self._list("lock") if lock_is_live(d)}
        out = []
        for space in self.list_spaces():
            state = states.get(space.key, SpaceState(space.key)).public()
            lock = locks.get(space.key)
            state["running"] = lock is not None
            state["interrupted"] = bool(state["in_progress"]) and lock is None
            out.append({**space.to_dict(), "state": state,
                        "lock": {k: lock.get(k) for k in ("owner", "since", "expires")} if lock else None})
        return out

    # ---- storage --------------------------------------------------------------------------------

    def _get(self, doc_id: str) -> dict | None:
        self.ensure()
        with translated(self.es, f"reading {doc_id} from {self.index}"):
            try:
                return self.es.get(index=self.index, id=doc_id)["_source"]
            except NotFoundError:
                return None

    def _put(self, doc_id: str, body: dict) -> None:
        self.ensure()
        with translated(self.es, f"saving {doc_id} in {self.index}"):
            # refresh: the admin page lists spaces right after a change; the index is tiny, so it is cheap
            self.es.index(index=self.index, id=doc_id, document=body, refresh=True)

    def _list(self, kind: str) -> list[dict]:
        self.ensure()
        with translated(self.es, f"listing {kind} documents in {self.index}"):
            hits = self.es.search(index=self.index, query={"term": {"kind": kind}}, size=MAX_LISTED,
                                  sort=[{"key": "asc"}])["hits"]["hits"]
        return [h["_source"] for h in hits]


def lock_is_live(doc: dict | None, now: datetime | None = None) -> bool:
    """True when a `lock:<KEY>` document is held and not yet expired."""
    if not doc or not doc.get("expires"):
        return False
    return datetime.fromisoformat(doc["expires"]) > (now or datetime.now(UTC))


def _known(cls: type, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
