"""The Confluence client against the in-process stand-in (loopback only): paging, throttling, errors,
downloads, restrictions and the exact REST v1 routes it calls on Cloud and on Data Center."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.confluence import ConfluenceClient
from backend.documents import CONFLUENCE_ANONYMOUS
from backend.errors import (
    ConfigError,
    ExtractionError,
    RateLimited,
    ServiceUnavailable,
    SourceAuthError,
    SourceError,
    SourceNotFound,
)
from backend.identity import IdentityResolver
from backend.settings import ConfluenceSettings
from tests.standins.confluence_app import ConfluenceState, StandinServer, User, serve
from tests.standins.confluence_storage import paragraphs
from tests.standins.elsewhere import BODY as ELSEWHERE_BODY
from tests.standins.elsewhere import elsewhere

ALICE = "712020:alice"


def small_state(base_path: str = "/wiki", pages: int = 12) -> ConfluenceState:
    """A space DOCS: home > parent (restricted to group finance) > child (restricted to alice) + open pages."""
    state = ConfluenceState(base_path=base_path)
    state.add_user(User(ALICE, "Alice", "alice@example.com", "America/New_York", {"confluence-users", "finance"}),
                   token="alice-token")
    state.add_user(User("712020:hidden", "Hidden", "hidden@example.com", email_visible=False))
    state.add_space("DOCS", "Docs", groups={"confluence-users"}, anonymous=True)
    state.anonymous_access = True  # the site lets anonymous visitors in: DOCS is public
    home = state.add_page("DOCS", "Home", paragraphs("Welcome"))
    parent = state.add_page("DOCS", "Finance", paragraphs("Budgets"), home.id)
    state.restrict(parent.id, groups={"finance"})
    child = state.add_page("DOCS", "Payroll", paragraphs("Salaries"), parent.id)
    state.restrict(child.id, users={ALICE})
    for i in range(pages):
        state.clock.advance(minutes=1)
        state.add_page("DOCS", f"Page {i}", paragraphs(f"Body {i}"), home.id)
    state.add_blogpost("DOCS", "News", paragraphs("Hello"))
    state.add_comment(home.id, paragraphs("First comment"))
    state.add_comment(home.id, paragraphs("Second comment"))
    state.ids = {"home": home.id, "parent": parent.id, "child": child.id}  # type: ignore[attr-defined]
    return state


@pytest.fixture
def state() -> ConfluenceState:
    return small_state()


@pytest.fixture
def server(state: ConfluenceState) -> Iterator[StandinServer]:
    with serve(state) as srv:
        yield srv


def make_client(server: StandinServer, sleeps: list[float] | None = None, **overrides) -> ConfluenceClient:
    sink = sleeps if sleeps is not None else []
    return ConfluenceClient(server.settings(**overrides), sleep=sink.append, rng=lambda: 0.5)


def test_search_pages_through_every_result_by_following_next_links(server: StandinServer) -> None:
    client = make_client(server, page_size=2)
    rows = list(client.space_content_ids("DOCS"))
    assert len(rows) == 16  # 15 pages + 1 blog post, 2 at a time
    assert {t for _, t, _ in rows} == {"page", "blogpost"}
    assert client.stats["GET /rest/api/content/search"] == 8
    searches = [r for r in server.state.requests if r.path == "/rest/api/content/search"]
    assert all("cursor" in r.query for r in searches[1:])  # the client followed the server's cursor


def test_server_caps_the_page_size_and_the_client_still_reaches_the_end(server: StandinServer) -> None:
    server.state.max_limit = 3
    rows = list(make_client(server, page_size=500).search_content('type = page and space = "DOCS"'))
    assert len(rows) == 15


def test_429_storm_honours_retry_after_then_succeeds(server: StandinServer) -> None:
    sleeps: list[float] = []
    server.state.inject("/rest/api/content/search", 429, count=3, headers={"Retry-After": "1"})
    rows = list(make_client(server, sleeps).space_content_ids("DOCS"))
    assert len(rows) == 16
    assert sleeps == [1.0, 1.0, 1.0]


def test_retry_after_is_capped_by_backoff_cap(server: StandinServer) -> None:
    sleeps: list[float] = []
    server.state.inject("/rest/api/user/current", 503, count=1, headers={"Retry-After": "3600"})
    make_client(server, sleeps, backoff_cap=7.0).current_user()
    assert sleeps == [7.0]


def test_throttling_beyond_max_retries_raises_rate_limited(server: StandinServer) -> None:
    sleeps: list[float] = []
    server.state.inject("/rest/api/user/current", 429, count=50)
    client = make_client(server, sleeps, max_retries=4, backoff_cap=10.0)
    with pytest.raises(RateLimited) as err:
        client.current_user()
    assert err.value.retryable
    assert client.stats["GET /rest/api/user/current"] == 4
    # no Retry-After: full jitter with rng=0.5 over windows 1, 2, 4 s
    assert sleeps == [0.5, 1.0, 2.0]


def test_data_center_403_throttle_is_retried(server: StandinServer) -> None:
    sleeps: list[float] = []
    server.state.inject("/rest/api/content/", 403, count=2, body={"message": "Rate limit exceeded for user"})
    assert make_client(server, sleeps).get_content(server.state.ids["home"])["title"] == "Home"
    assert len(sleeps) == 2


def test_plain_403_is_a_permission_error_not_retried(server: StandinServer) -> None:
    sleeps: list[float] = []
    server.state.inject("/rest/api/content/", 403, count=1, body={"message": "Not permitted to use Confluence"})
    with pytest.raises(SourceError, match="lacks permission") as err:
        make_client(server, sleeps).get_content(server.state.ids["home"])
    assert not isinstance(err.value, RateLimited)
    assert sleeps == []


def test_504_on_a_listing_is_retried_once_with_half_the_page_size(server: StandinServer) -> None:
    server.state.inject("/rest/api/content/search", 504, count=99, when_limit_over=10)
    rows = list(make_client(server, page_size=16).space_content_ids("DOCS"))
    assert len(rows) == 16
    limits = [r.query["limit"] for r in server.state.requests if r.path == "/rest/api/content/search"]
    assert limits == ["16", "8", "8"]


def test_500s_are_retried_then_reported(server: StandinServer) -> None:
    server.state.inject("/rest/api/content/search", 500, count=1)
    assert len(list(make_client(server).space_content_ids("DOCS"))) == 16
    server.state.inject("/rest/api/content/search", 500, count=99)
    with pytest.raises(SourceError, match="HTTP 500 after 3 tries"):
        list(make_client(server, max_retries=3).space_content_ids("DOCS"))


def test_401_names_the_settings_to_fix_and_says_tokens_expire(server: StandinServer) -> None:
    cloud = ConfluenceClient(server.settings(api_token="expired"), sleep=lambda s: None)
    with pytest.raises(SourceAuthError) as err:
        cloud.current_user()
    assert "LORE_CONFLUENCE_API_TOKEN" in str(err.value) and "LORE_CONFLUENCE_EMAIL" in str(err.value)
    assert "expire" in str(err.value) and "expired" not in str(err.value)  # never echoes the secret
    dc = ConfluenceClient(server.settings(cloud=False, pat="wrong"), sleep=lambda s: None)
    with pytest.raises(SourceAuthError, match="LORE_CONFLUENCE_PAT"):
        dc.current_user()


def test_unreachable_server_is_service_unavailable_with_the_url() -> None:
    settings = ConfluenceSettings(url="http://127.0.0.1:9/wiki", cloud="true", email="a@b.c", api_token="t")
    with pytest.raises(ServiceUnavailable, match=re.escape("http://127.0.0.1:9/wiki")):
        ConfluenceClient(settings, sleep=lambda s: None).current_user()


def test_missing_content_is_source_not_found(server: StandinServer) -> None:
    with pytest.raises(SourceNotFound):
        make_client(server).get_content("999999")


def test_comments_and_attachments_page_to_the_end(server: StandinServer, state: ConfluenceState) -> None:
    home = state.ids["home"]
    for i in range(5):
        state.add_attachment(home, f"file{i}.txt", "text/plain", data=b"x" * i)
    client = make_client(server, page_size=2)
    assert [c["body"]["storage"]["value"] for c in client.comments(home)] == [
        "<p>First comment</p>", "<p>Second comment</p>"]
    atts = list(client.attachments(home))
    assert [a["title"] for a in atts] == [f"file{i}.txt" for i in range(5)]
    assert atts[3]["extensions"]["fileSize"] == 3 and atts[3]["metadata"]["mediaType"] == "text/plain"


def test_download_streams_to_disk_and_enforces_the_cap(server: StandinServer, state: ConfluenceState,
                                                        tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # 12 MiB written in blocks: the test itself never holds it in memory
        for _ in range(12):
            fh.write(b"\0" * (1 << 20))
    att = state.add_attachment(state.ids["home"], "big recording.wav", "audio/x-wav", path=big)
    client = make_client(server)
    meta = next(a for a in client.attachments(state.ids["home"]) if a["id"] == att.id)
    out = client.download_attachment(state.ids["home"], meta, tmp_path / "dl", max_bytes=20_000_000)
    assert out.stat().st_size == 12 << 20
    with pytest.raises(ExtractionError, match=r"too large \(12\.6 MB > cap 10\.0 MB, setting "
                                              r"LORE_CONFLUENCE_ATTACHMENT_MAX_BYTES\)"):
        client.download_attachment(state.ids["home"], meta, tmp_path / "dl2", max_bytes=10_000_000)
    # the declared size lied (or was absent): the stream is cut off and the partial file removed
    meta.pop("extensions")
    with pytest.raises(ExtractionError, match="more than"):
        client.download_attachment(state.ids["home"], meta, tmp_path / "dl3", max_bytes=5_000_000)
    assert list((tmp_path / "dl3").iterdir()) == []


def test_the_credentials_go_only_to_the_confluence_origin(tmp_path: Path) -> None:
    with elsewhere() as other:
        # Data Center: an absolute `_links.download` to another origin is refused, with the reason, unfetched
        state = small_state("/confluence")
        state.download_origin = other.url
        att = state.add_attachment(state.ids["home"], "notes.txt", "text/plain", data=b"hello")
        with serve(state) as srv:
            client = make_client(srv)
            meta = next(a for a in client.attachments(state.ids["home"]) if a["id"] == att.id)
            with pytest.raises(ExtractionError, match="not to its own site") as caught:
                client.download_attachment(state.ids["home"], meta, tmp_path, max_bytes=1000)
            assert caught.value.code == "foreign_link" and "'notes.txt'" in caught.value.message
            # ... and so is a next-page link that leaves the site
            state.inject("/rest/api/content/search", 200, body={"results": [], "_links": {
                "next": other.url + "/rest/api/content/search?cursor=abc"}})
            with pytest.raises(SourceError, match="not to its own site"):
                list(client.space_content_ids("DOCS"))
        assert other.requests == []
        # Cloud: the download redirects to a media host; the file arrives, the credentials do not
        state = small_state("/wiki")
        state.download_origin = other.url
        att = state.add_attachment(state.ids["home"], "notes.txt", "text/plain", data=b"hello")
        with serve(state) as srv:
            client = make_client(srv)
            meta = next(a for a in client.attachments(state.ids["home"]) if a["id"] == att.id)
            out = client.download_attachment(state.ids["home"], meta, tmp_path, max_bytes=1000)
        assert out.read_bytes() == ELSEWHERE_BODY
        assert [auth for _path, auth in other.requests] == [None]


def test_a_download_never_writes_through_a_planted_file_or_outside_its_directory(tmp_path: Path) -> None:
    state = small_state("/confluence")  # Data Center: the id names the file, not the URL
    att = state.add_attachment(state.ids["home"], "notes.txt", "text/plain", data=b"hello")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    dest = tmp_path / "dl"
    dest.mkdir()
    for name in (f"{att.id}-notes.txt", f"{att.id}-notes.txt.part"):  # the names a fixed scheme would use
        (dest / name).symlink_to(victim)
    with serve(state) as srv:
        client = make_client(srv)
        meta = next(a for a in client.attachments(state.ids["home"]) if a["id"] == att.id)
        out = client.download_attachment(state.ids["home"], meta, dest, max_bytes=1000)
        assert victim.read_text() == "precious"
        assert out.parent == dest and not out.is_symlink() and out.read_bytes() == b"hello"
        assert out.stat().st_mode & 0o077 == 0  # readable by the connector's user only
        meta["id"] = "../../escaped"  # ids come from the server: never a path
        out = client.download_attachment(state.ids["home"], meta, dest, max_bytes=1000)
    assert out.parent == dest and not list(tmp_path.parent.glob("escaped*"))


def test_restrictions_of_the_page_and_every_ancestor(server: StandinServer, state: ConfluenceState) -> None:
    client = make_client(server)
    child = client.get_content(state.ids["child"])
    expected = [["confluence-group:finance"], [f"confluence-user:{ALICE}"]]
    assert client.ancestors_read_restrictions(child) == expected
    assert client.read_restrictions(state.ids["home"]) == []
    assert client.ancestors_read_restrictions(client.get_content(state.ids["home"])) == []


def test_ancestor_restrictions_fall_back_per_level_on_confcloud_77618(server: StandinServer,
                                                                      state: ConfluenceState) -> None:
    state.inject("expand=restrictions.read", 404, count=1)
    client = make_client(server)
    child = client.get_content(state.ids["child"])
    assert client.ancestors_read_restrictions(child) == [["confluence-group:finance"], [f"confluence-user:{ALICE}"]]
    assert client.stats["GET /rest/api/content/{id}/restriction/byOperation/read"] == 3  # home, parent, child


def test_draft_ancestor_breaks_the_batch_call_like_the_real_bug(server: StandinServer, state: ConfluenceState) -> None:
    # someone else's draft is an ancestor alice cannot read: the expanded call 404s (CONFCLOUD-77618),
    # and the per-level fallback cannot read that level either, so the page is denied rather than over-shared
    draft = state.add_page("DOCS", "Draft", paragraphs("wip"), state.ids["home"], status="draft", author="other")
    page = state.add_page("DOCS", "Under a draft", paragraphs("x"), draft.id)
    alice = ConfluenceClient(ConfluenceSettings(url=server.url, cloud="true", email="alice@example.com",
                                                api_token="alice-token"), sleep=lambda s: None)
    content = alice.get_content(page.id)
    assert alice.ancestors_read_restrictions(content) == [[]]


def test_space_identities_users_and_groups(server: StandinServer) -> None:
    client = make_client(server)
    assert client.space_read_identities("DOCS") == ["confluence-group:confluence-users", "public"]
    assert client.find_user_by_email("ALICE@example.com")["accountId"] == ALICE
    assert client.find_user_by_email("hidden@example.com") is None  # hides their email: cannot be matched
    assert client.find_user_by_email("nobody@example.com") is None
    assert client.user_groups(ALICE) == ["confluence-users", "finance"]
    assert client.server_timezone() == "Europe/Berlin"


def test_an_anonymous_grant_is_public_only_where_the_site_lets_anonymous_visitors_in(server: StandinServer,
                                                                                       state: ConfluenceState) -> None:
    client = make_client(server)
    assert client.space_read_identities("DOCS") == ["confluence-group:confluence-users", "public"]
    state.anonymous_access = False  # the site admin turned anonymous access off; the space grant stays
    assert client.space_read_identities("DOCS") == [CONFLUENCE_ANONYMOUS, "confluence-group:confluence-users"]
    # the check was a plain anonymous visit: no credentials sent
    probes = [r for r in state.requests if r.user != "557058:lore-svc"]
    assert [(r.path, r.status) for r in probes] == [("/rest/api/space/DOCS", 200), ("/rest/api/space/DOCS", 401)]
    # what that grant still reaches: people Lore matches to a Confluence account, never an unknown asker
    people = IdentityResolver(client)
    assert CONFLUENCE_ANONYMOUS in people.resolve("alice@example.com")
    assert people.resolve("nobody@example.com") == ["public"]


def test_create_page_and_versioned_properties(server: StandinServer, state: ConfluenceState) -> None:
    client = make_client(server)
    page = client.create_page("DOCS", "Minutes 2026-11-02", "<p>Decisions</p>", parent_id=state.ids["home"])
    assert state.contents[page["id"]].parent_id == state.ids["home"]
    with pytest.raises(SourceError) as err:
        client.create_page("DOCS", "Minutes 2026-11-02", "<p>again</p>")
    assert err.value.code == "title_exists"
    assert client.get_property(page["id"], "lore-minutes") is None
    client.set_property(page["id"], "lore-minutes", {"attachment": "att1", "version": 1})
    client.set_property(page["id"], "lore-minutes", {"attachment": "att1", "version": 2})
    prop = client.get_property(page["id"], "lore-minutes")
    assert prop["value"] == {"attachment": "att1", "version": 2} and prop["version"]["number"] == 2


def _exercise_every_route(client: ConfluenceClient, state: ConfluenceState, tmp_path: Path) -> None:
    home = state.ids["home"]
    att = state.add_attachment(home, "notes.txt", "text/plain", data=b"hello")
    client.current_user()
    client.space_read_identities("DOCS")
    list(client.space_content_ids("DOCS"))
    content = client.get_content(state.ids["child"])
    client.ancestors_read_restrictions(content)
    client.read_restrictions(home)
    list(client.comments(home))
    meta = next(a for a in client.attachments(home) if a["id"] == att.id)
    client.download_attachment(home, meta, tmp_path, max_bytes=1000)
    client.find_user_by_email("alice@example.com")
    client.user_groups(ALICE)
    page = client.create_page("DOCS", "New", "<p>x</p>", parent_id=home)
    client.set_property(page["id"], "k", 1)
    client.set_property(page["id"], "k", 2)


def test_cloud_calls_exactly_the_v1_routes_under_wiki(tmp_path: Path) -> None:
    state = small_state("/wiki")
    with serve(state) as srv:
        _exercise_every_route(make_client(srv), state, tmp_path)
    seen = {(r.method, re.sub(r"/\d+|/att\d+", "/{id}", r.path)) for r in state.requests}
    assert seen == {
        ("GET", "/rest/api/user/current"),
        ("GET", "/rest/api/space/DOCS"),
        ("GET", "/rest/api/content/search"),
        ("GET", "/rest/api/content/{id}"),
        ("GET", "/rest/api/content/{id}/restriction/byOperation/read"),
        ("GET", "/rest/api/content/{id}/child/comment"),
        ("GET", "/rest/api/content/{id}/child/attachment"),
        ("GET", "/rest/api/content/{id}/child/attachment/{id}/download"),
        ("GET", "/download/attachments/{id}/notes.txt"),  # where Cloud's download redirects
        ("GET", "/rest/api/search/user"),
        ("GET", "/rest/api/user/memberof"),
        ("POST", "/rest/api/content"),
        ("GET", "/rest/api/content/{id}/property/k"),
        ("POST", "/rest/api/content/{id}/property"),
        ("PUT", "/rest/api/content/{id}/property/k"),
    }
    # Basic email:token on every call but the one anonymous visit that checks the space's Anonymous grant
    assert [r.path for r in state.requests if r.user != "557058:lore-svc"] == ["/rest/api/space/DOCS"]


def test_data_center_calls_the_same_routes_at_the_base_with_a_bearer_token(tmp_path: Path) -> None:
    state = small_state("/confluence")  # a DC context path
    with serve(state) as srv:
        assert srv.settings().cloud == "false"
        _exercise_every_route(make_client(srv), state, tmp_path)
    paths = {re.sub(r"/\d+|/att\d+", "/{id}", r.path) for r in state.requests}
    assert "/rest/api/content/{id}/child/attachment/{id}/download" not in paths  # DC uses _links.download
    assert "/download/attachments/{id}/notes.txt" in paths
    assert "/rest/api/content/search" in paths and "/rest/api/space/DOCS" in paths
    assert [r.path for r in state.requests if r.user != "557058:lore-svc"] == ["/rest/api/space/DOCS"]


def test_base_url_and_auth_for_cloud_and_data_center() -> None:
    cloud = ConfluenceClient(ConfluenceSettings(url="https://acme.atlassian.net/", email="a@acme.io", api_token="t"))
    assert cloud.cloud and cloud.base == "https://acme.atlassian.net/wiki"
    assert cloud.session.headers["Authorization"].startswith("Basic ")
    dc = ConfluenceClient(ConfluenceSettings(url="https://confluence.acme.io/confluence/rest/api", pat="p"))
    assert not dc.cloud and dc.base == "https://confluence.acme.io/confluence"
    assert dc.session.headers["Authorization"] == "Bearer p"
    with pytest.raises(ConfigError, match="LORE_CONFLUENCE_API_TOKEN"):
        ConfluenceClient(ConfluenceSettings(url="https://acme.atlassian.net/wiki", pat="p"))
    with pytest.raises(ConfigError, match="LORE_CONFLUENCE_URL"):
        ConfluenceClient(ConfluenceSettings())


def test_504_halving_is_an_extra_try_even_with_one_try_allowed(server: StandinServer) -> None:
    server.state.inject("/rest/api/content/search", 504, count=1, when_limit_over=10)
    assert len(list(make_client(server, page_size=16, max_retries=1).space_content_ids("DOCS"))) == 16


def test_parallel_fetches_share_one_client(server: StandinServer, state: ConfluenceState) -> None:
    client = make_client(server)
    ids = [cid for cid, _, _ in client.space_content_ids("DOCS")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        titles = list(pool.map(lambda cid: client.get_content(cid)["title"], ids))
    assert sorted(titles) == sorted(state.contents[i].title for i in ids)
    assert client.stats["GET /rest/api/content/{id}"] == len(ids)


def test_retry_after_really_waits_with_the_default_sleep(server: StandinServer) -> None:
    server.state.inject("/rest/api/user/current", 429, count=1, headers={"Retry-After": "1"})
    client = ConfluenceClient(server.settings())  # time.sleep, as in production
    started = time.monotonic()
    assert client.current_user()["accountId"] == "557058:lore-svc"
    assert time.monotonic() - started >= 1.0
    assert client.retries["GET /rest/api/user/current"] == 1


def test_spaces_lists_what_the_token_user_may_see_to_the_last_page(server: StandinServer,
                                                                  state: ConfluenceState) -> None:
    state.add_space("OPS", "Operations")
    state.add_space("HR", "People team", groups={"hr"})  # the sync account is a superuser: sees it too
    state.add_space("OLD", "Archive")
    state.delete_space("OLD")  # in the trash: not offered
    client = make_client(server, page_size=2)
    assert [(s["key"], s["name"]) for s in client.spaces()] == [("DOCS", "Docs"), ("HR", "People team"),
                                                               ("OPS", "Operations")]
    assert client.stats["GET /rest/api/space"] == 2  # followed the next link
    alice = ConfluenceClient(server.settings(email="alice@example.com", api_token="alice-token"))
    assert [s["key"] for s in alice.spaces()] == ["DOCS", "OPS"]  # not a member of hr
