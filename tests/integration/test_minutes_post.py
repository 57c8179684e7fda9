"""Posting minutes on the Confluence stand-in: taken titles, repeats, deleted pages, restrictions, crash leftovers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.confluence import ConfluenceClient
from backend.confluence.write import ConfluenceWriter
from backend.minutes.post import minutes_title, post_minutes
from tests.standins.confluence_app import ConfluenceState, StandinServer, User, serve

KEY = "lore-minutes-att1"


@pytest.fixture
def server() -> Iterator[StandinServer]:
    state = ConfluenceState()
    state.add_user(User("557058:eve", "Eve", "eve@example.com", groups={"confluence-users"}))
    state.add_space("MEET", "Meetings")
    state.add_page("MEET", "Home", "<p>home</p>")
    with serve(state) as s:
        yield s


def _post(server: StandinServer, page_id: str, version: int = 1, body: str = "<p>minutes</p>",
          restriction: list[str] | None = None):
    writer = ConfluenceWriter(ConfluenceClient(server.settings(), sleep=lambda s: None))
    return post_minutes(writer, recording_page_id=page_id, space="MEET", key=KEY, version=version,
                        title=minutes_title("Weekly sync", "2026-11-02"), body=body, read_identities=restriction or [])


def _children(state: ConfluenceState, page_id: str) -> list:
    return [c for c in state.contents.values() if c.parent_id == page_id and c.type == "page"]


def test_a_taken_title_gets_a_number_and_a_repeat_posts_nothing(server: StandinServer) -> None:
    state = server.state
    state.add_page("MEET", "Minutes: Weekly sync (2026-11-02)", "<p>someone else's</p>")
    rec = state.add_page("MEET", "Weekly sync", "<p>rec</p>")

    first = _post(server, rec.id)
    again = _post(server, rec.id)

    assert first.action == "created" and first.title == "Minutes: Weekly sync (2026-11-02) (2)"
    assert again.action == "unchanged" and again.page_id == first.page_id
    assert [c.title for c in _children(state, rec.id)] == [first.title]


def test_a_page_left_by_a_dead_try_is_adopted_not_duplicated(server: StandinServer) -> None:
    state = server.state
    rec = state.add_page("MEET", "Weekly sync", "<p>rec</p>")
    # what a worker killed between the create and the record leaves: a claim and its page, nothing recorded
    state.properties[(rec.id, KEY)] = {"id": "p", "key": KEY, "value": {"state": "claimed",
                                       "claimed": ["Minutes: Weekly sync (2026-11-02)"]}, "version": {"number": 1}}
    orphan = state.add_page("MEET", "Minutes: Weekly sync (2026-11-02)", "<p>half</p>", parent_id=rec.id)

    posted = _post(server, rec.id, body="<p>full minutes</p>")

    assert posted.page_id == orphan.id and posted.action == "updated"
    assert [c.id for c in _children(state, rec.id)] == [orphan.id] and orphan.body == "<p>full minutes</p>"


def test_a_same_titled_page_by_someone_else_is_not_taken_over(server: StandinServer) -> None:
    state = server.state
    rec = state.add_page("MEET", "Weekly sync", "<p>rec</p>")
    state.properties[(rec.id, KEY)] = {"id": "p", "key": KEY, "value": {"state": "claimed",
                                       "claimed": ["Minutes: Weekly sync (2026-11-02)"]}, "version": {"number": 1}}
    theirs = state.add_page("MEET", "Minutes: Weekly sync (2026-11-02)", "<p>eve's notes</p>", parent_id=rec.id,
                            author="557058:eve")

    posted = _post(server, rec.id)

    assert posted.page_id != theirs.id and theirs.body == "<p>eve's notes</p>"


def test_a_deleted_minutes_page_is_posted_again_and_restrictions_follow(server: StandinServer) -> None:
    state = server.state
    rec = state.add_page("MEET", "Weekly sync", "<p>rec</p>")
    first = _post(server, rec.id)
    state.delete(first.page_id)

    second = _post(server, rec.id, version=2, restriction=["confluence-user:557058:eve", "confluence-group:leads"])

    assert second.action == "created" and second.page_id != first.page_id
    page = state.contents[second.page_id]
    assert page.read_users == {"557058:eve"} and page.read_groups == {"leads"}
