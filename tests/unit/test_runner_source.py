"""The Confluence source on the stand-in (loopback only): restriction chains, comments, attachments, CQL dates."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.confluence import ConfluenceClient
from backend.spaces import SpaceConfig
from connector.confluence.source import ConfluenceSource, ConfluenceSpaceView, cql_date, parse_when
from connector.source import Access, Existence, Skipped
from tests.standins.confluence_app import ConfluenceState, StandinServer, User, serve
from tests.standins.confluence_storage import paragraphs
from tests.standins.elsewhere import elsewhere

ALICE = "712020:alice"
EVERYONE = ("confluence-group:confluence-users", "public")


@pytest.fixture
def state() -> ConfluenceState:
    """DOCS: home > finance (group finance) > payroll (alice) ; home > open ; a blog post ; comments ; files."""
    s = ConfluenceState()
    s.add_user(User(ALICE, "Alice", "alice@example.com", groups={"confluence-users", "finance"}), token="alice")
    s.add_space("DOCS", "Docs", groups={"confluence-users"}, anonymous=True)
    s.anonymous_access = True  # the site admits anonymous visitors, so the grant makes DOCS public
    home = s.add_page("DOCS", "Home", paragraphs("Welcome"))
    finance = s.add_page("DOCS", "Finance", paragraphs("Budgets"), home.id)
    s.restrict(finance.id, groups={"finance"})
    payroll = s.add_page("DOCS", "Payroll", paragraphs("Salaries"), finance.id)
    s.restrict(payroll.id, users={ALICE})
    s.clock.advance(minutes=5)
    open_page = s.add_page("DOCS", "Open", paragraphs("Anyone"), home.id)
    s.add_blogpost("DOCS", "News", paragraphs("Hello"))
    s.add_comment(payroll.id, paragraphs("A comment on payroll"))
    s.add_attachment(open_page.id, "notes.txt", "text/plain", b"meeting notes in plain text")
    s.add_attachment(open_page.id, "photo.png", "image/png", b"\x89PNG....")
    s.add_attachment(open_page.id, "empty.txt", "text/plain", b"")
    s.add_attachment(open_page.id, "call.mp4", "video/mp4", b"\0" * 10)
    s.ids = {"home": home.id, "finance": finance.id, "payroll": payroll.id, "open": open_page.id}  # type: ignore
    return s


@pytest.fixture
def server(state: ConfluenceState) -> Iterator[StandinServer]:
    with serve(state) as srv:
        yield srv


def open_view(server: StandinServer, tmp_path: Path, hook=None) -> ConfluenceSpaceView:
    settings = server.settings()
    source = ConfluenceSource(ConfluenceClient(settings, sleep=lambda _s: None), settings, on_recording=hook,
                              workdir=tmp_path)
    return source.open_space(SpaceConfig("DOCS"))


def by_title(view: ConfluenceSpaceView):
    return {u.doc.title: u for u in view.units()}


def test_a_child_of_a_restricted_parent_carries_every_level(server, state, tmp_path) -> None:
    units = by_title(open_view(server, tmp_path))

    assert units["Home"].doc.access == Access(EVERYONE, (), ())
    assert units["Finance"].doc.access.restrictions == (("confluence-group:finance",),)
    payroll = units["Payroll"].doc.access
    assert payroll.restrictions == (("confluence-group:finance",), (f"confluence-user:{ALICE}",))
    assert payroll.ancestors == (state.ids["home"], state.ids["finance"])
    assert units["News"].doc.kind == "blogpost" and not units["News"].doc.access.restricted


def test_permissions_come_from_one_listing_not_one_call_per_page(server, state, tmp_path) -> None:
    view = open_view(server, tmp_path)
    view.units()
    searches = [r for r in state.requests if r.path == "/rest/api/content/search"]
    assert len(searches) == 1 and "restrictions.read.restrictions.group" in searches[0].query["expand"]
    assert not [r for r in state.requests if "/restriction/" in r.path or "ancestors.restrictions" in
                r.query.get("expand", "")]


def test_an_ancestor_missing_from_the_listing_falls_back_to_per_page_restrictions(server, state, tmp_path) -> None:
    state.contents[state.ids["finance"]].status = "draft"  # drafts are not listed; its child still is

    payroll = by_title(open_view(server, tmp_path))["Payroll"].doc

    assert ("confluence-group:finance",) in payroll.access.restrictions
    assert (f"confluence-user:{ALICE}",) in payroll.access.restrictions
    assert [r for r in state.requests if r.path == f"/rest/api/content/{state.ids['payroll']}"
            and "ancestors.restrictions" in r.query.get("expand", "")]


def test_comments_inherit_the_page_access_and_link_to_their_anchor(server, state, tmp_path) -> None:
    units = by_title(open_view(server, tmp_path))
    kids = units["Payroll"].children()

    comment = next(k for k in kids if k.kind == "comment")
    assert comment.access == units["Payroll"].doc.access
    assert comment.parent_id == f"confluence:page:{state.ids['payroll']}"
    assert comment.url.startswith(server.url) and comment.url.endswith(f"#comment-{comment.id.rsplit(':', 1)[1]}")
    assert "A comment on payroll" in comment.fetch(comment)


def test_attachments_are_extracted_or_skipped_with_a_reason_before_any_download(server, state, tmp_path) -> None:
    handed = []
    view = open_view(server, tmp_path, hook=lambda page, att: handed.append((page, att["title"])) or "noted")
    kids = {k.title: k for k in by_title(view)["Open"].children()}

    assert kids["notes.txt"].fetch(kids["notes.txt"]) == "meeting notes in plain text"
    for title, words in (("photo.png", "unsupported"), ("empty.txt", "empty")):
        with pytest.raises(Skipped, match=words):
            kids[title].fetch(kids[title])
    downloads = [r.path for r in state.requests if "download" in r.path]
    never = {a.id for a in state.attachments.values() if a.title in ("photo.png", "empty.txt")}
    assert downloads and not [p for p in downloads if any(i in p for i in never) or "photo" in p or "empty" in p]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # the downloaded file is gone once extracted
    call = kids["call.mp4"]
    assert call.kind == "recording" and call.fetch is None
    assert call.handoff(call) == "noted" and handed == [(state.ids["open"], "call.mp4")]


def test_downloads_are_staged_in_a_private_directory_per_run_removed_at_the_end(server, state) -> None:
    settings = server.settings()
    client = ConfluenceClient(settings, sleep=lambda _s: None)
    runs = [ConfluenceSource(client, settings), ConfluenceSource(client, settings)]  # default place: system temp
    view = runs[0].open_space(SpaceConfig("DOCS"))
    notes = {k.title: k for k in by_title(view)["Open"].children()}["notes.txt"]
    assert notes.fetch(notes) == "meeting notes in plain text"
    staging = [run.staging_dir() for run in runs]
    assert staging[0] != staging[1]  # not one fixed, shared /tmp/lore-attachments
    for path in staging:
        assert path.parent == Path(tempfile.gettempdir()) and path.stat().st_mode & 0o777 == 0o700
        assert list(path.iterdir()) == []  # each file goes as soon as its text is out
    for run in runs:
        run.close()
    assert not any(path.exists() for path in staging)


def test_an_attachment_link_to_another_origin_is_skipped_with_the_reason(tmp_path) -> None:
    state = ConfluenceState(base_path="/confluence")  # Data Center downloads follow `_links.download`
    state.add_space("DOCS", "Docs", groups={"confluence-users"})
    page = state.add_page("DOCS", "Home", paragraphs("Welcome"))
    state.add_attachment(page.id, "notes.txt", "text/plain", b"meeting notes")
    with elsewhere() as other, serve(state) as srv:
        state.download_origin = other.url
        kids = by_title(open_view(srv, tmp_path))["Home"].children()
        with pytest.raises(Skipped, match="not to its own site .*; Lore does not send the Confluence credentials"):
            kids[0].fetch(kids[0])
        assert other.requests == []


def test_a_lazy_fetch_indexes_the_version_it_really_read(server, state, tmp_path) -> None:
    home = by_title(open_view(server, tmp_path))["Home"].doc
    state.edit(state.ids["home"], body=paragraphs("Welcome back"))

    assert "Welcome back" in home.fetch(home)
    assert home.version == "2"


def test_incremental_listing_writes_the_cql_date_in_the_token_users_timezone(server, state, tmp_path) -> None:
    view = open_view(server, tmp_path)  # the stand-in's token user lives in Europe/Berlin
    since = state.contents[state.ids["open"]].when

    units = view.units(since)

    cql = [r.query["cql"] for r in state.requests if r.path == "/rest/api/content/search"][-1]
    assert f'lastmodified >= "{cql_date(since, "Europe/Berlin")}"' in cql and cql.endswith("order by lastmodified asc")
    assert {u.doc.title for u in units} == {"Open", "News"}  # the older pages are not listed again
    assert [u.modified for u in units] == sorted(u.modified for u in units)


def test_cql_dates_follow_daylight_saving_and_minute_precision() -> None:
    winter = datetime(2026, 1, 15, 12, 30, 59, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, 30, 59, tzinfo=UTC)
    assert cql_date(winter, "Europe/Berlin") == "2026-01-15 13:30"
    assert cql_date(summer, "Europe/Berlin") == "2026-07-15 14:30"
    assert cql_date(summer, "Not/A_Zone") == "2026-07-15 12:30"  # unknown zone: UTC, with a warning
    assert parse_when("2026-11-02T09:00:00.000Z") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert parse_when("2026-11-02T10:00:00.000+01:00") == datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_prune_deletes_only_what_a_complete_listing_missed() -> None:
    seen = Existence(ids={"c:page:1", "c:comment:5"}, top_complete=True, listed_parents={"c:page:1"})
    assert seen.gone("c:page:2", None)  # a page the space listing no longer has
    assert seen.gone("c:comment:9", "c:page:2")  # a comment of a page that went
    assert seen.gone("c:comment:6", "c:page:1")  # a comment its page's complete listing no longer has
    assert not seen.gone("c:comment:5", "c:page:1")
    assert not Existence(ids={"c:page:1"}, top_complete=True).gone("c:comment:7", "c:page:1")  # not listed
    assert not Existence(ids=set(), top_complete=False).gone("c:page:1", None)  # an incomplete listing
