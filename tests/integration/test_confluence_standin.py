"""The stand-in seeded with the real Hyperledger wiki, read through the real client: every page is
reachable, permissions differ per user like Confluence's, CQL dates follow the token user's timezone, and
the second sync changes exactly what it reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from backend.confluence import ConfluenceClient
from backend.confluence.constants import CQL_MODIFIED_SINCE
from backend.errors import SourceNotFound
from backend.settings import ConfluenceSettings
from tests.standins.confluence_app import ConfluenceState, StandinServer, second_sync, seed_from_wiki, serve
from tests.standins.confluence_seed import SeedResult


@pytest.fixture
def seeded(shared_data: Path) -> Iterator[tuple[StandinServer, SeedResult]]:
    state = ConfluenceState()
    seed = seed_from_wiki(state, shared_data / "wiki" / "hyperledger-toc.jsonl")
    with serve(state) as server:
        yield server, seed


def client_for(server: StandinServer, **overrides) -> ConfluenceClient:
    return ConfluenceClient(server.settings(**overrides), sleep=lambda s: None)


def user_client(server: StandinServer, seed: SeedResult, name: str) -> ConfluenceClient:
    email = server.state.users[seed.users[name]].email
    settings = ConfluenceSettings(url=server.url, cloud="true", email=email, api_token=seed.tokens[name])
    return ConfluenceClient(settings, sleep=lambda s: None)


def test_every_wiki_page_is_reachable_in_three_spaces(seeded, shared_data: Path) -> None:
    server, seed = seeded
    client = client_for(server)
    lines = (shared_data / "wiki" / "hyperledger-toc.jsonl").read_text(encoding="utf-8").splitlines()
    wiki = [json.loads(line) for line in lines if line]
    found = {key: list(client.space_content_ids(key)) for key in ("TOC", "MEET", "REP")}
    pages = {cid for rows in found.values() for cid, kind, _ in rows if kind == "page"}
    assert pages == set(seed.page_ids.values()) and len(pages) == len(wiki) == 553
    assert sorted(cid for rows in found.values() for cid, kind, _ in rows if kind == "blogpost") == seed.blogposts
    assert len(found["MEET"]) == sum(r["category"] == "meeting-minutes" for r in wiki)


def test_pages_form_trees_with_well_formed_storage_bodies(seeded) -> None:
    server, seed = seeded
    client = client_for(server)
    minutes = client.get_content(seed.page_ids["meeting-minutes/2016/2016-02-18-TSC-Minutes.md"]
                                 if "meeting-minutes/2016/2016-02-18-TSC-Minutes.md" in seed.page_ids
                                 else seed.restricted_ids[1])
    assert [a["title"] for a in minutes["ancestors"]][0] == "Meeting Minutes"
    assert minutes["space"]["key"] == "MEET" and minutes["version"]["number"] == 1
    assert minutes["history"]["lastUpdated"]["when"].endswith("Z")
    assert minutes["_links"]["webui"].startswith(f"/spaces/MEET/pages/{minutes['id']}/")
    guide = client.get_content(seed.page_ids["guidelines/github-contribution-guide.md"])
    body = guide["body"]["storage"]["value"]
    assert '<ac:structured-macro ac:name="code"' in body and "<![CDATA[git clone" in body
    assert BeautifulSoup(body, "html.parser").find("h2").get_text() == "Forking the repository"
    tabled = [c for c in server.state.contents.values() if "confluenceTable" in c.body]
    assert len(tabled) > 100  # minutes keep their Confluence tables
    links = [c.body for c in server.state.contents.values() if "<ri:page ri:content-title=" in c.body]
    assert len(links) > 50 and any('ri:space-key="TOC"' in b for b in links)  # cross-space links name the space


def test_users_see_only_what_confluence_would_show_them(seeded) -> None:
    server, seed = seeded
    alice, bob = user_client(server, seed, "alice"), user_client(server, seed, "bob")
    restricted_child = seed.restricted_ids[1]
    assert alice.get_content(restricted_child)["id"] == restricted_child  # alice is in toc-members
    with pytest.raises(SourceNotFound):
        bob.get_content(restricted_child)
    bob_meet = {cid for cid, _, _ in bob.space_content_ids("MEET")}
    assert not bob_meet & set(seed.restricted_ids)
    assert len(bob_meet) == 187 - len(seed.restricted_ids)
    assert list(bob.space_content_ids("REP")) == []  # REP is for toc-members and finance
    with pytest.raises(SourceNotFound):
        bob.space("REP")
    admin = client_for(server)
    assert admin.space_read_identities("REP") == ["confluence-group:finance", "confluence-group:toc-members"]
    levels = admin.ancestors_read_restrictions(admin.get_content(restricted_child))
    assert levels == [["confluence-group:toc-members"]]
    carol_only = admin.get_content(seed.user_restricted_id)
    assert admin.ancestors_read_restrictions(carol_only) == [[f"confluence-user:{seed.users['carol']}"]]


def test_moves_group_and_space_changes_behave_like_confluence(seeded) -> None:
    """What the permission audit changes: no version bump for moves, groups and space permissions that apply
    at once, and a space the caller cannot read (or in the trash) that 404s and is absent from CQL."""
    server, seed = seeded
    state = server.state
    alice, bob = user_client(server, seed, "alice"), user_client(server, seed, "bob")
    page = seed.page_ids["guidelines/raising-an-issue.md"]
    before = bob.get_content(page)["version"]
    state.move(page, seed.restricted_root)  # under the toc-members page: bob loses it, alice keeps it
    with pytest.raises(SourceNotFound):
        bob.get_content(page)
    moved = alice.get_content(page)
    assert moved["version"] == before and moved["ancestors"][-1]["id"] == seed.restricted_root
    with pytest.raises(ValueError):
        state.move(seed.restricted_root, seed.restricted_ids[1])  # not under its own child
    state.set_groups(seed.users["bob"], {"confluence-users", "toc-members"})
    assert bob.user_groups(seed.users["bob"]) == ["confluence-users", "toc-members"]
    assert bob.get_content(page)["id"] == page

    state.set_space_read("MEET", groups={"finance"})
    with pytest.raises(SourceNotFound):
        alice.space("MEET")
    assert list(alice.space_content_ids("MEET")) == []
    assert user_client(server, seed, "carol").space("MEET")["key"] == "MEET"
    admin = client_for(server)
    toc = list(admin.space_content_ids("TOC"))
    state.delete_space("TOC")
    with pytest.raises(SourceNotFound):
        admin.space("TOC")  # even for the stand-in's superuser
    with pytest.raises(SourceNotFound):
        admin.get_content(seed.homes["TOC"])
    assert list(admin.space_content_ids("TOC")) == []
    state.delete_space("TOC", deleted=False)
    assert list(admin.space_content_ids("TOC")) == toc


def test_lastmodified_is_read_in_the_token_users_timezone(seeded) -> None:
    server, seed = seeded
    state = server.state
    client = client_for(server)
    tz = ZoneInfo(client.server_timezone())  # Europe/Berlin for the service account
    since = state.clock.now()
    state.clock.advance(minutes=30)
    page = state.edit(seed.page_ids["guidelines/raising-an-issue.md"], body="<p>new</p>")

    def changed_since(when) -> list[str]:
        cql = CQL_MODIFIED_SINCE.format(space="TOC", since=when.astimezone(tz).strftime("%Y-%m-%d %H:%M"))
        return [r["id"] for r in client.search_content(cql, expand="version")]

    assert changed_since(since) == [page.id]
    assert changed_since(since + timedelta(minutes=31)) == []
    # the cursor written in UTC instead of the user's zone means another instant (Berlin is UTC+1 here)
    utc_text = since.strftime("%Y-%m-%d %H:%M")
    cql = CQL_MODIFIED_SINCE.format(space="TOC", since=utc_text)
    assert utc_text != since.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    assert [r["id"] for r in client.search_content(cql)] == [page.id]


def test_second_sync_changes_exactly_what_it_reports(seeded, tmp_path: Path) -> None:
    server, seed = seeded
    client = client_for(server)
    before = {key: dict((i, v) for i, _, v in client.space_content_ids(key)) for key in ("TOC", "MEET", "REP")}
    cursor = server.state.clock.now().astimezone(ZoneInfo(client.server_timezone())).strftime("%Y-%m-%d %H:%M")
    change = second_sync(server.state)
    changed = [r["id"] for key in ("TOC", "MEET", "REP")
               for r in client.search_content(CQL_MODIFIED_SINCE.format(space=key, since=cursor), expand="version")]
    assert sorted(changed) == sorted(change.edited + change.added)  # moves and restrictions are invisible to CQL
    after = {key: dict((i, v) for i, _, v in client.space_content_ids(key)) for key in ("TOC", "MEET", "REP")}
    assert set(before["REP"]) - set(after["REP"]) == set(change.deleted_pages)
    versions_before = {i: v for rows in before.values() for i, v in rows.items()}
    versions_after = {i: v for rows in after.values() for i, v in rows.items()}
    assert all(versions_after[i] == versions_before[i] + 1 for i in change.edited)
    assert versions_after[change.moved[0]] == versions_before[change.moved[0]]  # realistic: a move is no edit
    moved = client.get_content(change.moved[0])
    assert seed.restricted_root in [a["id"] for a in moved["ancestors"]]
    assert client.ancestors_read_restrictions(moved) == [["confluence-group:toc-members"]]
    assert client.read_restrictions(change.newly_restricted[0]) == ["confluence-group:toc-members"]
    security_page = seed.page_ids["governing-documents/security.md"]
    assert change.deleted_attachments == [seed.attachments["security-policy.docx"]]
    assert [a["title"] for a in client.attachments(security_page)] == []


def test_recording_streams_from_disk(seeded, shared_data: Path, tmp_path: Path) -> None:
    server, seed = seeded
    client = client_for(server)
    att_id = seed.recording_id
    page_id = server.state.attachments[att_id].page_id
    meta = next(a for a in client.attachments(page_id) if a["id"] == att_id)
    assert meta["metadata"]["mediaType"] == "audio/x-wav"
    out = client.download_attachment(page_id, meta, tmp_path, max_bytes=50_000_000,
                                     setting="LORE_CONFLUENCE_RECORDING_MAX_BYTES")
    assert out.read_bytes() == (shared_data / "audio" / "jfk.wav").read_bytes()
    assert re.match(r"att\d+-[a-z0-9_]+-toc-call-recording\.wav$", out.name)  # id, a random part, the title


def test_seeded_document_attachments_are_real_files(seeded, tmp_path: Path) -> None:
    server, seed = seeded
    client = client_for(server)
    charter = seed.page_ids["governing-documents/charter.md"]
    meta = next(a for a in client.attachments(charter) if a["title"] == "charter-summary.pdf")
    pdf = client.download_attachment(charter, meta, tmp_path, max_bytes=10_000_000)
    from pypdf import PdfReader

    assert "Hyperledger" in PdfReader(pdf).pages[0].extract_text()
    security = seed.page_ids["governing-documents/security.md"]
    meta = next(a for a in client.attachments(security) if a["title"] == "security-policy.docx")
    assert meta["metadata"]["mediaType"].endswith("wordprocessingml.document")
    docx = client.download_attachment(security, meta, tmp_path, max_bytes=10_000_000)
    from docx import Document as Docx

    assert any("security" in p.text.lower() for p in Docx(str(docx)).paragraphs)
