"""Seeds the stand-in with the real Hyperledger TOC wiki (553 pages) arranged as three Confluence spaces,
and plays a "second sync" of edits, a move, a new restriction, deletions and a new page.

Spaces: TOC (governance, guidelines, dashboards, member info; readable anonymously), MEET (meeting minutes,
confluence-users) and REP (project reports, groups toc-members and finance). The tree follows the wiki's
folders: folder `index.md` pages are parents. MEET's 2022 year page is restricted to toc-members.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.standins import files
from tests.standins.confluence_state import ConfluenceState, User
from tests.standins.confluence_storage import clean_title, markdown_to_storage, paragraphs

SPACES = {  # key: (name, folders, read groups, anonymous)
    "TOC": ("Hyperledger TOC", ("", "governing-documents", "guidelines", "dashboards", "member-info"),
            {"confluence-users"}, True),
    "MEET": ("TOC Meeting Minutes", ("meeting-minutes",), {"confluence-users"}, False),
    "REP": ("Project Reports", ("project-reports",), {"toc-members", "finance"}, False),
}
HOMES = {"TOC": "index.md", "MEET": "meeting-minutes/index.md", "REP": "project-reports/index.md"}
RESTRICTED_PARENT = "meeting-minutes/2022/index.md"  # its 2022 minutes inherit the restriction
RESTRICTED_GROUP = "toc-members"
USER_RESTRICTED = "governing-documents/security-template.md"  # a single page only carol may read
RECORDING_PAGE = "meeting-minutes/2024/2024-10-31-TOC-Minutes.md"  # fallback: the newest 2024 minutes

# name: (accountId, display name, email, timezone, groups, email visible)
USERS = {
    "alice": ("712020:alice", "Alice Adams", "alice@example.com", "America/New_York",
              {"confluence-users", "toc-members"}, True),
    "bob": ("712020:bob", "Bob Brown", "bob@example.com", "Europe/London", {"confluence-users"}, True),
    "carol": ("712020:carol", "Carol Chen", "carol@example.com", "Asia/Tokyo",
              {"confluence-users", "finance"}, True),
    "dave": ("712020:dave", "Dave Hidden", "dave@example.com", "UTC", {"confluence-users"}, False),
}

BLOGPOSTS = [
    ("Welcome to the TOC spaces", "The Technical Oversight Committee keeps its charter, guidelines, meeting "
     "minutes and project reports in these spaces. Ask the TOC chair before moving pages between spaces."),
    ("Quarterly project reports are due", "Every project posts a quarterly update in the Project Reports space "
     "using the quarterly update template. Reports are reviewed in the next TOC call."),
    ("Switching the TOC call to Thursdays", "From next month the weekly TOC call moves to Thursdays at 14:00 "
     "UTC. The meeting minutes keep their usual place in the TOC Meeting Minutes space."),
]
COMMENTS = [  # (doc_id, text)
    ("governing-documents/charter.md", "Should the charter link to the project lifecycle page?"),
    ("governing-documents/charter.md", "Agreed, I will add the link after the next TOC call."),
    ("guidelines/github-contribution-guide.md", "Remember to enable DCO checks on new repositories."),
    ("meeting-minutes/index.md", "Minutes older than 2020 were migrated from the old wiki."),
]


@dataclass
class SeedAttachment:
    doc_id: str  # page to attach to (a wiki doc_id)
    title: str  # file name
    media_type: str
    data: bytes | None = None
    path: Path | None = None


@dataclass
class SeedResult:
    page_ids: dict[str, str]  # wiki doc_id -> content id
    homes: dict[str, str]  # space key -> homepage id
    restricted_root: str  # content id of the group-restricted parent
    restricted_ids: list[str]  # that parent and its descendants
    user_restricted_id: str
    blogposts: list[str]
    comments: list[str]
    attachments: dict[str, str]  # file name -> attachment id
    recording_id: str | None
    users: dict[str, str]  # name -> accountId
    tokens: dict[str, str]  # name -> API token / PAT of that user
    titles: dict[str, str] = field(default_factory=dict)  # content id -> title


def _space_of(doc_id: str) -> str:
    top = doc_id.split("/")[0] if "/" in doc_id else ""
    return next(key for key, (_, folders, _, _) in SPACES.items() if top in folders)


def _parent_doc(doc_id: str, ids: set[str], space: str) -> str | None:
    if doc_id == HOMES[space]:
        return None
    folder = posixpath.dirname(doc_id)
    candidates = []
    if posixpath.basename(doc_id) != "index.md":
        candidates.append(posixpath.join(folder, "index.md"))
    parent_folder = posixpath.dirname(folder)
    candidates.append(posixpath.join(parent_folder, "index.md") if parent_folder else "index.md")
    for cand in candidates:
        if cand in ids and cand != doc_id and _space_of(cand) == space:
            return cand
    return HOMES[space]


def _when(row: dict, n: int) -> datetime:
    """A plausible last-modified time from the record (meeting date, report quarter), unique per page."""
    m = re.search(r"(\d{4})-(\d{2})-(\d{2})", row["doc_id"])
    if m:
        base = datetime(int(m[1]), int(m[2]), int(m[3]), 17, 0, tzinfo=UTC)
    elif row.get("year"):
        q = re.search(r"Q([1-4])", row["doc_id"])
        month = 3 * int(q[1]) + 1 if q else 12
        year = int(row["year"]) + (1 if month > 12 else 0)
        base = datetime(year, month if month <= 12 else 1, 5, 12, 0, tzinfo=UTC)
    else:
        base = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    return base + timedelta(minutes=n % 50)


def _resolver(doc_id: str, titles: dict[str, tuple[str, str]]) -> Callable[[str], tuple[str | None, str] | None]:
    here = _space_of(doc_id)

    def resolve(href: str) -> tuple[str | None, str] | None:
        href = href.split("#")[0]
        m = re.match(r"https?://(?:toc\.hyperledger\.org|hyperledger\.github\.io/toc)/(.+)", href)
        target = m[1] if m else (posixpath.normpath(posixpath.join(posixpath.dirname(doc_id), href))
                                 if href and not re.match(r"^[a-z]+:", href) else None)
        if not target:
            return None
        target = re.sub(r"\.html$", ".md", target.lstrip("/"))
        for cand in (target, posixpath.join(target, "index.md")):
            if cand in titles:
                space, title = titles[cand]
                return (None if space == here else space), title
        return None

    return resolve


def _default_attachments(rows: dict[str, dict]) -> list[SeedAttachment]:
    """Real files built by tests/standins/files.py from wiki text: a PDF, a DOCX, an encrypted and a corrupt PDF."""
    charter = _paragraphs(rows["governing-documents/charter.md"]["text"])
    security = _paragraphs(rows["governing-documents/security.md"]["text"])
    return [
        SeedAttachment("governing-documents/charter.md", "charter-summary.pdf", "application/pdf",
                       files.make_pdf("\n".join(charter))),
        SeedAttachment("governing-documents/security.md", "security-policy.docx",
                       "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                       files.make_docx(security)),
        SeedAttachment("member-info/toc-members.md", "board-contacts.pdf", "application/pdf",
                       files.make_encrypted_pdf("TOC member phone list")),
        SeedAttachment("guidelines/index.md", "scanned-notes.pdf", "application/pdf", files.make_corrupt_pdf()),
    ]


def _paragraphs(markdown: str, chars: int = 3000) -> list[str]:
    """The start of a page as plain paragraphs, wrapped at 90 characters (what fits a Letter PDF line)."""
    text = re.sub(r"<[^>]+>|[#*|`]", " ", markdown)[:chars]
    return [textwrap.fill(" ".join(p.split()), 90) for p in text.split("\n\n") if p.strip()]


def seed_from_wiki(state: ConfluenceState, wiki_path: Path | str,
                   attachments: list[SeedAttachment] | None = None, recording: Path | str | None = None,
                   with_recording: bool = True) -> SeedResult:
    """Load every wiki record as a page; `attachments=None` attaches the default real files.

    The recording defaults to `<wiki_path>/../../audio/jfk.wav` (the shared data layout); it must exist.
    """
    wiki_path = Path(wiki_path)
    if not wiki_path.is_file():
        raise FileNotFoundError(f"Wiki data not found at {wiki_path}: set LORE_SHARED_DATA to the shared data folder")
    rows = {r["doc_id"]: r for r in map(json.loads, wiki_path.read_text(encoding="utf-8").splitlines()) if r}
    for name, (account, display, email, tz, groups, visible) in USERS.items():
        state.add_user(User(account, display, email, tz, set(groups), visible), token=f"{name}-token")
    for key, (name, _, groups, anonymous) in SPACES.items():
        state.add_space(key, name, groups=groups, anonymous=anonymous)
    state.anonymous_access = True  # the Hyperledger wiki is public: TOC's Anonymous grant really lets people in

    titles = _unique_titles(rows)
    ids = set(rows)
    # parents first: sort by depth so a parent's content id exists before its children
    order = sorted(rows, key=lambda d: (d not in HOMES.values(), d.count("/"), not d.endswith("index.md"), d))
    page_ids: dict[str, str] = {}
    for n, doc_id in enumerate(order):
        row, space = rows[doc_id], _space_of(doc_id)
        parent = _parent_doc(doc_id, ids, space)
        fm = row.get("front_matter") or {}
        body = _storage(doc_id, row["text"], titles, fm.get("has_toc") == "true")
        item = state.add_page(space, titles[doc_id][1], body, page_ids.get(parent) if parent else None,
                              when=_when(row, n), source_doc_id=doc_id)
        page_ids[doc_id] = item.id

    restricted_root = page_ids[RESTRICTED_PARENT]
    state.restrict(restricted_root, groups={RESTRICTED_GROUP})
    state.restrict(page_ids[USER_RESTRICTED], users={USERS["carol"][0]})
    blogposts = [state.add_blogpost("TOC", title, paragraphs(text), when=datetime(2025, 9, 1 + i, 8, tzinfo=UTC)).id
                 for i, (title, text) in enumerate(BLOGPOSTS)]
    comments = [state.add_comment(page_ids[d], paragraphs(text), author=USERS["alice"][0],
                                  when=datetime(2025, 10, 1, 10, i, tzinfo=UTC)).id
                for i, (d, text) in enumerate(COMMENTS)]
    atts: dict[str, str] = {}
    for spec in _default_attachments(rows) if attachments is None else attachments:
        att = state.add_attachment(page_ids[spec.doc_id], spec.title, spec.media_type, spec.data, spec.path,
                                   when=datetime(2025, 10, 2, 9, tzinfo=UTC))
        atts[spec.title] = att.id
    recording_id = None
    if with_recording:
        audio = Path(recording) if recording else wiki_path.parent.parent / "audio" / "jfk.wav"
        if not audio.is_file():
            raise FileNotFoundError(f"Recording not found at {audio}: set LORE_SHARED_DATA to the shared data folder")
        page = RECORDING_PAGE if RECORDING_PAGE in page_ids else max(d for d in page_ids if "/2024/" in d)
        recording_id = state.add_attachment(page_ids[page], "toc-call-recording.wav", "audio/x-wav", path=audio,
                                            when=datetime(2025, 10, 3, 9, tzinfo=UTC)).id
        atts["toc-call-recording.wav"] = recording_id
    result = SeedResult(
        page_ids=page_ids, homes={k: page_ids[v] for k, v in HOMES.items()}, restricted_root=restricted_root,
        restricted_ids=[restricted_root] + _descendants(state, restricted_root),
        user_restricted_id=page_ids[USER_RESTRICTED], blogposts=blogposts, comments=comments, attachments=atts,
        recording_id=recording_id, users={n: u[0] for n, u in USERS.items()},
        tokens={n: f"{n}-token" for n in USERS}, titles={i: state.contents[i].title for i in page_ids.values()},
    )
    state.seed = result
    return result


_BODIES: dict[tuple[str, str], str] = {}  # (doc_id, markdown) -> storage: seeding again in a session is fast


def _storage(doc_id: str, text: str, titles: dict[str, tuple[str, str]], toc: bool) -> str:
    key = (doc_id, text)
    if key not in _BODIES:
        info = "This is a template: copy it, do not edit it." if "template" in doc_id else None
        _BODIES[key] = markdown_to_storage(text, _resolver(doc_id, titles), toc=toc, info=info)
    return _BODIES[key]


def _unique_titles(rows: dict[str, dict]) -> dict[str, tuple[str, str]]:
    """doc_id -> (space, title); Confluence titles are unique per space, so clashes get the file name."""
    out: dict[str, tuple[str, str]] = {}
    seen: set[tuple[str, str]] = set()
    for doc_id in sorted(rows):
        space, title = _space_of(doc_id), clean_title(rows[doc_id]["title"]) or posixpath.basename(doc_id)
        if (space, title) in seen:
            title = f"{title} ({posixpath.splitext(posixpath.basename(doc_id))[0]})"
        seen.add((space, title))
        out[doc_id] = (space, title)
    return out


def _descendants(state: ConfluenceState, root: str) -> list[str]:
    out, frontier = [], [root]
    while frontier:
        node = frontier.pop()
        kids = [c.id for c in state.contents.values() if c.parent_id == node and c.type == "page"]
        out.extend(kids)
        frontier.extend(kids)
    return sorted(out, key=int)


@dataclass
class SecondSync:
    """What `second_sync` changed, by kind (content / attachment ids)."""

    edited: list[str]
    moved: list[str]  # moved under the restricted parent: now inherit its restriction
    newly_restricted: list[str]  # a read restriction was added to these open pages
    deleted_pages: list[str]
    deleted_attachments: list[str]
    added: list[str]
    bumped_versions: bool  # False: moves/restriction changes left version and lastmodified alone


def second_sync(state: ConfluenceState, seed: SeedResult | None = None, realistic: bool = True) -> SecondSync:
    """Advance the clock a day, then edit, move, restrict, delete and add.

    With `realistic=True` (the default) moves and restriction changes do not change a page's version or
    lastmodified, as in Confluence: an incremental CQL sync cannot see them, only a permission refresh can.
    """
    seed = seed or state.seed
    state.clock.advance(days=1)
    p = seed.page_ids
    edited = [p["governing-documents/charter.md"], p["meeting-minutes/2024/index.md"],
              p["guidelines/project-best-practices.md"]]
    for i, cid in enumerate(edited):
        state.clock.advance(minutes=3)
        state.edit(cid, body=state.contents[cid].body + paragraphs(
            f"Update {i + 1}: the TOC approved this revision on the second sync day; quorum was reached."))
    # an open 2023 meeting record moves under the restricted 2022 year page and inherits its restriction
    moved = [p[sorted(d for d in p if d.startswith("meeting-minutes/2023/2023-"))[0]]]
    for cid in moved:
        state.contents[cid].parent_id = seed.restricted_root
        if not realistic:
            state.edit(cid)
    newly_restricted = [p["guidelines/raising-an-issue.md"]]
    for cid in newly_restricted:
        state.restrict(cid, groups={RESTRICTED_GROUP})
        if not realistic:
            state.edit(cid)
    deleted_pages = [p["project-reports/2019/2019-Q2-Hyperledger-Burrow.md"]
                     if "project-reports/2019/2019-Q2-Hyperledger-Burrow.md" in p
                     else p[sorted(d for d in p if d.startswith("project-reports/2019/2019-"))[0]]]
    for cid in deleted_pages:
        state.delete(cid)
    deleted_attachments = [a for name, a in seed.attachments.items() if name == "security-policy.docx"
                           and a in state.attachments]
    for att in deleted_attachments:
        del state.attachments[att]
    state.clock.advance(minutes=5)
    new = state.add_page("MEET", "2026-11-03 TOC Meeting Record", paragraphs(
        "Attendees: the TOC members. Decision: the annual review template gains a security section.",
        "Action: each project adds a SECURITY.md file before the next quarterly report."),
        parent_id=seed.homes["MEET"])
    return SecondSync(edited, moved, newly_restricted, deleted_pages, deleted_attachments, [new.id],
                      not realistic)
