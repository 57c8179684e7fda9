"""The random changes of the permission audit: what authors and admins do to a Confluence that Lore syncs.

Each change is made on the stand-in the way Confluence makes it (restriction changes and moves leave the
version and `lastmodified` alone) or, for Lore's own list of spaces, through `PUT /api/admin/spaces`. Each
returns a one-line description, so a leak can be traced back to the step that caused it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tests.standins.confluence_state import SERVICE_ACCOUNT, ConfluenceState, Content

# The sync account is an ordinary member of these groups (not the stand-in's superuser): content restricted
# to anything else, or to a single person, is invisible to it.
SYNC_GROUPS = frozenset({"confluence-users", "toc-members"})
# finance and board are groups the sync account lacks; nobody is in board at the start
GROUPS = ("confluence-users", "toc-members", "finance", "board")
PEOPLE = ("alice", "bob", "carol")
# How often each kind of change is drawn. Restriction, move, group and edit changes are what happens every
# day; the space-wide ones are rarer, and each has its way back so the walk does not drain the wiki.
WEIGHTS = {
    "restrict": 4.0, "unrestrict": 4.0, "move": 4.0, "group": 3.0, "edit": 2.5, "add": 1.5, "delete": 1.0,
    "space_groups": 1.5, "space_unreadable": 0.7, "home_restricted": 0.7, "space_trashed": 0.3,
    "space_restored": 0.6, "admin_remove": 0.6, "admin_disable": 0.6, "admin_restore": 1.0,
}

# the way back from each change that takes content away, kept in a narrowed walk so that it does not drain
WAY_BACK = {"restrict": "unrestrict", "home_restricted": "unrestrict", "space_unreadable": "space_groups",
            "space_trashed": "space_restored", "admin_remove": "admin_restore", "admin_disable": "admin_restore"}


def make_sync_account_ordinary(state: ConfluenceState) -> None:
    svc = state.users[SERVICE_ACCOUNT]
    svc.superuser = False
    svc.groups = set(SYNC_GROUPS)


@dataclass
class Change:
    kind: str
    text: str
    admin: bool = False  # a change of Lore's own configuration: its effect is due at once, before any sync


class Changer:
    """Draws and applies one random change per call; `lore_spaces` mirrors what the admin API was told."""

    def __init__(self, state: ConfluenceState, accounts: dict[str, str], spaces: list[str], rng: random.Random,
                 put_spaces: Callable[[list[dict]], None], kinds: Iterable[str] | None = None):
        self.state = state
        self.accounts = accounts  # person name -> accountId
        self.rng = rng
        self.put_spaces = put_spaces
        self.all_spaces = list(spaces)
        self.lore_spaces: dict[str, bool] = {k: True for k in spaces}  # configured key -> enabled
        self.counter = 0
        # `kinds` narrows the walk (to check one fix at a time); the ways back stay, so it does not drain
        wanted = set(kinds or WEIGHTS)
        wanted |= {WAY_BACK[k] for k in wanted if k in WAY_BACK}
        unknown = wanted - set(WEIGHTS)
        if unknown:
            raise ValueError(f"unknown change kinds {sorted(unknown)}: use some of {sorted(WEIGHTS)}")
        self.weights = {k: w for k, w in WEIGHTS.items() if k in wanted}
        # the first steps play every kind once, in a random order, so that even a short walk covers them all;
        # then kinds are drawn by weight
        self.deck = self.rng.sample(list(self.weights), len(self.weights))

    def step(self) -> Change:
        self.state.clock.advance(minutes=2)  # every change happens at a later minute (CQL's precision)
        self.counter += 1
        kinds, weights = zip(*self.weights.items(), strict=True)
        while True:
            kind = self.deck.pop(0) if self.deck else self.rng.choices(kinds, weights)[0]
            text = getattr(self, f"_{kind}")()
            if text is not None:  # None: this kind has nothing to act on right now (nothing to restore...)
                return Change(kind, text, admin=kind.startswith("admin_"))

    # ---- content ----------------------------------------------------------------------------------

    def _items(self, types: tuple[str, ...] = ("page", "blogpost")) -> list[Content]:
        return sorted((c for c in self.state.contents.values() if c.type in types and c.status == "current"
                       and not self.state.spaces[c.space].deleted), key=lambda c: int(c.id))

    def _homes(self) -> set[str]:
        return {s.homepage_id for s in self.state.spaces.values() if s.homepage_id}

    def _who(self) -> tuple[set[str], set[str]]:
        """A restriction's users and groups: the sync account sometimes among them, sometimes not."""
        groups = set(self.rng.sample(GROUPS, self.rng.choice((0, 1, 1, 2))))
        users = {self.accounts[p] for p in self.rng.sample(PEOPLE, self.rng.choice((0, 0, 1)))}
        if self.rng.random() < 0.15:
            users.add(SERVICE_ACCOUNT)
        if not groups and not users:
            groups.add(self.rng.choice(GROUPS))
        return users, groups

    def _restrict(self) -> str:
        item = self.rng.choice(self._items())
        users, groups = self._who()
        self.state.restrict(item.id, users=users, groups=groups)
        return f"restrict {item.type} {item.id} ({item.space}) to users {sorted(users)} groups {sorted(groups)}"

    def _unrestrict(self) -> str | None:
        restricted = [c for c in self._items() if c.restricted]
        if not restricted:
            return None
        item = self.rng.choice(restricted)
        self.state.restrict(item.id)
        return f"lift the read restriction of {item.type} {item.id} ({item.space})"

    def _move(self) -> str | None:
        pages = self._items(("page",))
        movable = [p for p in pages if p.id not in self._homes()]
        if not movable:
            return None
        page = self.rng.choice(movable)
        subtree = {page.id} | {c.id for c in pages if page in self.state.ancestors(c)}
        targets = [p for p in pages if p.id not in subtree]
        same_space = [p for p in targets if p.space == page.space]
        roll = self.rng.random()
        if roll < 0.3:  # into a restricted subtree
            pool = [p for p in targets if p.restricted or any(a.restricted for a in self.state.ancestors(p))]
        elif roll < 0.55:  # out of any subtree: under the space's home page
            pool = [p for p in same_space if p.id in self._homes()]
        elif roll < 0.65:  # to another space
            pool = [p for p in targets if p.space != page.space]
        else:
            pool = same_space
        pool = [p for p in pool if p.id != page.parent_id] or [p for p in targets if p.id != page.parent_id]
        if not pool:
            return None
        parent = self.rng.choice(pool)
        before = page.space
        self.state.move(page.id, parent.id)
        return f"move page {page.id} ({before}) under page {parent.id} ({parent.space})"

    def _edit(self) -> str:
        item = self.rng.choice(self._items())
        word = f"auditword{self.counter}"
        self.state.edit(item.id, body=item.body + f"<p>Audit edit {self.counter}: the {word} was reviewed.</p>")
        return f"edit {item.type} {item.id} ({item.space}), version {item.version}"

    def _add(self) -> str:
        parent = self.rng.choice(self._items(("page",)))
        title = f"Audit note {self.counter}"
        body = (f"<p>Audit note {self.counter} records that the auditword{self.counter} process was followed "
                f"under {parent.title}. The owners reviewed the checklist and signed it off.</p>")
        item = self.state.add_page(parent.space, title, body, parent_id=parent.id)
        return f"add page {item.id} ({item.space}) under page {parent.id}"

    def _delete(self) -> str | None:
        candidates = [c for c in self._items() if c.id not in self._homes()]
        if len(candidates) < 20:  # keep a wiki to audit
            return None
        item = self.rng.choice(candidates)
        self.state.delete(item.id)
        return f"delete {item.type} {item.id} ({item.space})"

    # ---- people and spaces ------------------------------------------------------------------------

    def _group(self) -> str:
        person, group = self.rng.choice(PEOPLE), self.rng.choice(GROUPS)
        user = self.state.users[self.accounts[person]]
        joined = group not in user.groups
        self.state.set_groups(user.account_id, user.groups ^ {group})
        return f"{person} {'joins' if joined else 'leaves'} group {group}"

    def _live_spaces(self) -> list[str]:
        return [k for k in self.all_spaces if not self.state.spaces[k].deleted]

    def _space_groups(self) -> str | None:
        keys = self._live_spaces()
        if not keys:
            return None
        key = self.rng.choice(keys)
        groups = set(self.rng.sample(GROUPS, self.rng.randint(1, 2)))
        users = {self.accounts[p] for p in self.rng.sample(PEOPLE, self.rng.choice((0, 0, 1)))}
        anonymous = self.rng.random() < 0.25
        self.state.set_space_read(key, groups=groups, users=users, anonymous=anonymous)
        return f"space {key} readable by groups {sorted(groups)} users {sorted(users)} anonymous {anonymous}"

    def _space_unreadable(self) -> str | None:
        keys = self._live_spaces()
        if not keys:
            return None
        key = self.rng.choice(keys)
        groups = set(self.rng.sample(("finance", "board"), self.rng.randint(1, 2)))
        users = {self.accounts[p] for p in self.rng.sample(PEOPLE, self.rng.choice((0, 1)))}
        self.state.set_space_read(key, groups=groups, users=users, anonymous=False)
        return f"space {key} unreadable to the sync account: groups {sorted(groups)} users {sorted(users)}"

    def _home_restricted(self) -> str | None:
        keys = self._live_spaces()
        if not keys:
            return None
        key = self.rng.choice(keys)
        home = self.state.spaces[key].homepage_id
        group = self.rng.choice(("finance", "board"))
        self.state.restrict(home, groups={group})
        return f"home page {home} of {key} restricted to group {group}"

    def _space_trashed(self) -> str | None:
        keys = self._live_spaces()
        if len(keys) < 2:
            return None
        key = self.rng.choice(keys)
        self.state.delete_space(key)
        return f"space {key} deleted in Confluence (to the trash)"

    def _space_restored(self) -> str | None:
        trashed = [k for k in self.all_spaces if self.state.spaces[k].deleted]
        if not trashed:
            return None
        key = self.rng.choice(trashed)
        self.state.delete_space(key, deleted=False)
        return f"space {key} restored from the trash"

    # ---- Lore's configuration (admin API) ---------------------------------------------------------

    def _admin_put(self) -> None:
        self.put_spaces([{"key": k, "enabled": on} for k, on in sorted(self.lore_spaces.items())])

    def _admin_remove(self) -> str | None:
        keys = sorted(self.lore_spaces)
        if len(keys) < 2:
            return None
        key = self.rng.choice(keys)
        del self.lore_spaces[key]
        self._admin_put()
        return f"admin API: space {key} removed from Lore"

    def _admin_disable(self) -> str | None:
        keys = [k for k, on in sorted(self.lore_spaces.items()) if on]
        if len(keys) < 2:
            return None
        key = self.rng.choice(keys)
        self.lore_spaces[key] = False
        self._admin_put()
        return f"admin API: space {key} disabled"

    def _admin_restore(self) -> str | None:
        missing = [k for k in self.all_spaces if not self.lore_spaces.get(k, False)]
        if not missing:
            return None
        key = self.rng.choice(missing)
        self.lore_spaces[key] = True
        self._admin_put()
        return f"admin API: space {key} added back (enabled)"
