"""What a sync did, per space: counts, every skipped item with its reason, errors, recordings, speed.

The same record is printed by the CLI, stored as the space's last report (admin API) and returned to tests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from connector.source import SourceDoc

_LISTS = ("skipped", "errors", "recordings", "hidden")
STORED_ITEMS = 200  # skipped/errors/recordings entries kept in the stored report; counts stay exact


@dataclass
class SpaceReport:
    space: str
    sync_id: str = ""
    mode: str = ""  # full | incremental
    resumed: bool = False  # this run continued an interrupted one
    # ok | partial (some items failed) | failed (the space could not be synced) | busy (another sync holds it) |
    # stopped (removed or disabled by an admin while it ran)
    status: str = "running"
    total: int = 0  # top-level items (pages, blog posts) this pass had to go through
    pages: int = 0  # top-level items done
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    permissions_updated: int = 0  # documents whose chunks got new ACL fields without re-embedding
    chunks: int = 0
    embed_calls: int = 0
    skipped: list[dict] = field(default_factory=list)  # {id, title, kind, reason}
    errors: list[dict] = field(default_factory=list)  # {id, reason}
    recordings: list[dict] = field(default_factory=list)  # {id, title, page, status}
    # documents this sync made invisible to every reader (no longer listed, space unreadable): {id, reason}
    hidden: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_error: str | None = None
    error_code: str | None = None
    started: str = ""
    duration_s: float = 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.duration_s if self.duration_s > 0 else 0.0

    def skip(self, doc: SourceDoc, reason: str) -> None:
        self.skipped.append({"id": doc.id, "title": doc.title, "kind": doc.kind, "reason": reason})

    def error(self, doc_id: str, reason: str) -> None:
        self.errors.append({"id": doc_id, "reason": reason})

    def skip_reasons(self) -> Counter[str]:
        return Counter(_reason_key(s["reason"]) for s in self.skipped)

    def to_dict(self, limit: int | None = STORED_ITEMS) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in _LISTS}
        data["pages_per_s"] = round(self.pages_per_s, 2)
        data["duration_s"] = round(self.duration_s, 2)
        for name in _LISTS:
            items = getattr(self, name)
            data[name] = items[:limit] if limit is not None else list(items)
            data[f"{name}_count"] = len(items)
        data["skip_reasons"] = dict(self.skip_reasons())
        return data

    def render(self) -> str:
        head = (f"{self.space}: {self.status.upper()} ({self.mode}{', resumed' if self.resumed else ''}) in "
                f"{self.duration_s:.1f}s, {self.pages}/{self.total} pages, {self.pages_per_s:.1f} pages/s")
        lines = [head,
                 f"  added {self.added}, updated {self.updated}, unchanged {self.unchanged}, deleted {self.deleted}, "
                 f"permissions updated {self.permissions_updated}, chunks written {self.chunks}, "
                 f"embedding calls {self.embed_calls}"]
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)}:")
            lines += [f"    - {s['kind']} {s['title']!r} ({s['id']}): {s['reason']}" for s in self.skipped[:50]]
            if len(self.skipped) > 50:
                lines.append(f"    ... and {len(self.skipped) - 50} more")
        if self.hidden:
            lines.append(f"  hidden from every reader {len(self.hidden)}:")
            for reason, count in Counter(h["reason"] for h in self.hidden).most_common():
                lines.append(f"    - {count} documents: {reason}")
        if self.recordings:
            lines.append(f"  recordings {len(self.recordings)}:")
            lines += [f"    - {r['title']!r} on page {r['page']}: {r['status']}" for r in self.recordings]
        if self.errors:
            lines.append(f"  errors {len(self.errors)}:")
            lines += [f"    - {e['id']}: {e['reason']}" for e in self.errors[:20]]
        lines += [f"  note: {n}" for n in self.notes]
        if self.last_error:
            lines.append(f"  error: {self.last_error}")
        return "\n".join(lines)


@dataclass
class SyncReport:
    spaces: list[SpaceReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.spaces)

    def space(self, key: str) -> SpaceReport:
        return next(s for s in self.spaces if s.space == key)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "spaces": [s.to_dict() for s in self.spaces]}

    def render(self) -> str:
        if not self.spaces:
            return "No spaces to sync: add one with `python -m connector spaces add KEY`."
        return "\n".join(s.render() for s in self.spaces)


def _reason_key(reason: str) -> str:
    """Group reasons for the summary: the text before the first colon or parenthesis."""
    return reason.split(":", 1)[0].split("(", 1)[0].strip()
