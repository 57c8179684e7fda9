"""The permission audit's oracle: what each reader may find, according to the stand-in (Confluence) and to
Lore's own space list, and the verdict on every document a reader was shown.

Verdicts on a document shown to a reader:
  ok        they may read it in Confluence, Lore indexes its space, and the sync account can vouch for it
  denied    Confluence says this reader may not read it (a permission leak)
  deleted   it no longer exists in Confluence (deleted, or its space is in the trash): nobody may read it
  removed   its space was removed from Lore or disabled there: Lore promised to stop showing it
  unvouched the reader may read it, but the sync account no longer can, so Lore cannot know who may:
            Lore promised to hide it from the next sync on
The first two are what the issue calls leaks in the strict sense; the audit counts all four kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from backend.acl import MAX_LEVELS
from connector.extract import is_recording
from tests.standins.confluence_state import SERVICE_ACCOUNT, ConfluenceState, Content, User

LEAK_KINDS = ("denied", "deleted", "removed", "unvouched")


@dataclass(frozen=True)
class Reader:
    name: str
    email: str | None  # None: no X-Lore-User-Email at all (anonymous)
    account_id: str | None  # the Confluence account Lore should match; None: public content only


def readers(accounts: dict[str, str], people: Iterable[str]) -> list[Reader]:
    out = [Reader("anonymous", None, None), Reader("unknown", "nobody-known@example.com", None)]
    out += [Reader(p, f"{p}@example.com", accounts[p]) for p in people]
    return out


_ANONYMOUS = User("anonymous", "Anonymous", "", groups=set())


class Oracle:
    """Reads the stand-in's state and Lore's configured spaces (`lore_spaces`: key -> enabled) at call time."""

    def __init__(self, state: ConfluenceState, lore_spaces: Callable[[], dict[str, bool]],
                 skipped: Callable[[], set[str]]):
        self.state = state
        self.lore_spaces = lore_spaces
        self.skipped = skipped  # doc ids Lore reported as not indexable (heading-only pages, corrupt files...)

    def user(self, reader: Reader) -> User:
        return self.state.users[reader.account_id] if reader.account_id else _ANONYMOUS

    def item_of(self, doc_id: str) -> Content | None:
        """The Confluence item whose permissions a document follows (an attachment: its page), if it exists."""
        native = doc_id.rsplit(":", 1)[-1]
        if ":attachment:" in doc_id:
            att = self.state.attachments.get(native)
            return self.state.contents.get(att.page_id) if att else None
        return self.state.contents.get(native)

    def verdict(self, reader: Reader, doc_id: str) -> str:
        item = self.item_of(doc_id)
        if item is None or item.status != "current" or self.state.spaces[item.space].deleted:
            return "deleted"
        if not self.state.can_read(self.user(reader), item):
            return "denied"
        if not self.lore_spaces().get(item.space, False):
            return "removed"
        if not self.state.can_read(self.state.users[SERVICE_ACCOUNT], item):
            return "unvouched"
        return "ok"

    def documents(self) -> dict[str, Content]:
        """Every document a sync could index (pages, blog posts, footer comments, non-recording attachments)."""
        out: dict[str, Content] = {}
        for c in self.state.contents.values():
            if c.type in ("page", "blogpost", "comment") and c.status == "current":
                out[f"confluence:{c.type}:{c.id}"] = c
        for att in self.state.attachments.values():
            page = self.state.contents.get(att.page_id)
            if page is not None and not is_recording(att.media_type, att.title):
                out[f"confluence:attachment:{att.id}"] = page
        return out

    def expected(self, reader: Reader) -> set[str]:
        """What a complete, correct sync would let this reader find (skipped documents left out)."""
        skipped = self.skipped()
        return {d for d in self.documents() if d not in skipped and self.verdict(reader, d) == "ok"}

    def too_deep(self, doc_id: str) -> bool:
        """More restricted levels than the index stores: they are merged by intersection (never wider), so
        a reader who passes each level may still be refused. A documented miss, not a bug."""
        item = self.item_of(doc_id)
        chain = [*self.state.ancestors(item), item] if item else []
        return sum(1 for c in chain if c.restricted) > MAX_LEVELS


@dataclass
class Leak:
    """One episode: a reader could find a document they should not, from the step it was first seen until a
    check no longer finds it. It is attributed to that first step (its verdict may change meanwhile: a space
    moved to the trash, then restored, stays one episode)."""

    step: int
    kind: str  # the kind of change applied in that step
    change: str  # that step's description
    channel: str  # where it was first seen: scan-now (right after an admin API call), scan, search, ask
    reader: str
    doc_id: str
    verdict: str  # at the first sighting
    verdicts: set[str] = field(default_factory=set)
    last_step: int = 0


@dataclass
class Tally:
    """Counters for the summary line, and the leak episodes."""

    steps: int = 0
    syncs: int = 0
    full_syncs: int = 0
    searches: int = 0
    asks: int = 0
    scans: int = 0
    sightings: dict[str, int] = field(default_factory=dict)  # channel -> (reader, doc) pairs seen that should not be
    misses: int = 0  # allowed and indexable, yet not visible (after any sync)
    misses_after_full: int = 0  # the same right after a full sync: must be 0
    documented_misses: int = 0  # deeper restriction chains than the index stores (see Oracle.too_deep)
    open: dict[tuple[str, str], Leak] = field(default_factory=dict)
    closed: list[Leak] = field(default_factory=list)
    miss_examples: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> list[Leak]:
        return self.closed + list(self.open.values())

    def sighted(self, step: int, kind: str, change: str, channel: str, reader: str, doc_id: str, verdict: str) -> None:
        self.sightings[channel] = self.sightings.get(channel, 0) + 1
        leak = self.open.get((reader, doc_id))
        if leak is None:
            leak = self.open[(reader, doc_id)] = Leak(step, kind, change, channel, reader, doc_id, verdict)
        leak.verdicts.add(verdict)
        leak.last_step = step

    def settle(self, reader: str, bad: set[str]) -> None:
        """After a full scan of what `reader` can find: close their episodes that are no longer visible."""
        for key in [k for k in self.open if k[0] == reader and k[1] not in bad]:
            self.closed.append(self.open.pop(key))

    def by_step_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for leak in self.leaks:
            row = out.setdefault(leak.kind, {})
            row[leak.verdict] = row.get(leak.verdict, 0) + 1
        return out

    def summary(self, seed: int) -> str:
        kinds = {k: sum(1 for x in self.leaks if x.verdict == k) for k in LEAK_KINDS}
        seen = ", ".join(f"{k} {v}" for k, v in sorted(self.sightings.items())) or "none"
        return (f"permission audit (seed {seed}): {self.steps} steps, {self.syncs} syncs ({self.full_syncs} full), "
                f"{self.searches + self.asks} queries ({self.searches} search, {self.asks} ask), "
                f"{self.scans} ACL scans; leaks {len(self.leaks)} "
                f"({', '.join(f'{k} {v}' for k, v in kinds.items())}; sightings: {seen}); misses {self.misses} "
                f"({self.misses_after_full} after full syncs, {self.documented_misses} documented)")
