"""The Data Center user macro's endpoint: a search box signed by Confluence for its viewer posts to /dc/ask and the
answer page (inside the macro's frame) shows the answer from that viewer's pages. Real index, Redis and Confluence
stand-in (login name -> userKey -> groups); the LLM server down, so answers are sources only and quick.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from backend.confluence.client import ConfluenceClient
from backend.identity import IdentityResolver
from backend.llm import LLMClient
from tests.integration.answer_corpus import SECRET_PAGE, Corpus, closed_port_url, indexed, small_llm, url
from tests.integration.macro_app import running_api
from tests.integration.slack_bot import confluence_directory
from tests.standins import confluence_app
from tests.standins.velocity_render import RenderError, render

SECRET = "dc-shared-secret-for-tests-5d1f"
GRADLE = "What Gradle version did Web3j move to in mid-2024?"  # answered by the board-only page
TEMPLATE = Path(__file__).resolve().parents[2] / "manifests" / "datacenter" / "ask-lore.vm"


def sign(user: str, ts: int, secret: str = SECRET) -> str:
    """What the Velocity template computes (written out here, not imported: the wire format is the contract)."""
    return hmac.new(secret.encode(), f"{user}\n{ts}".encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def corpus(es, settings, embedder, shared_data) -> Iterator[Corpus]:
    with indexed(es, settings, embedder, shared_data) as c:
        yield c


@pytest.fixture(scope="module")
def dc_directory() -> Iterator[confluence_app.StandinServer]:
    """The stand-in's people on a Data Center instance (a /confluence context path: userKey, not accountId)."""
    state = confluence_app.ConfluenceState(base_path="/confluence")
    for user in confluence_directory().users.values():
        state.add_user(user)
    with confluence_app.serve(state) as server:
        yield server


@pytest.fixture(scope="module")
def api(corpus, es, embedder, dc_directory) -> Iterator[str]:
    s = small_llm(corpus.settings)
    s = replace(s, llm=replace(s.llm, url=closed_port_url(), retries=0),
                macro=replace(s.macro, dc_shared_secret=SECRET, dc_max_age_seconds=300, asks_per_minute=100))
    services = {"es": es, "embedder": embedder, "searcher": corpus.searcher, "llm": LLMClient(s.llm),
                # Data Center: login name -> userKey (/rest/api/user) -> groups (/rest/api/user/memberof?key=)
                "identity": IdentityResolver(ConfluenceClient(dc_directory.settings()), 600)}
    with running_api(s, services) as url_:
        yield url_


def post(api: str, user: str, question: str = GRADLE, *, ts: int | None = None, sig: str | None = None,
         **extra) -> requests.Response:
    ts = int(time.time()) if ts is None else ts
    form = {"user": user, "ts": str(ts), "sig": sign(user, ts) if sig is None else sig, "question": question, **extra}
    return requests.post(f"{api}/dc/ask", data=form, allow_redirects=False, timeout=20)


def answer_page(api: str, resp: requests.Response, timeout: float = 60) -> str:
    assert resp.status_code == 303, resp.text
    page_url = api + resp.headers["Location"] if resp.headers["Location"].startswith("/") else resp.headers["Location"]
    deadline = time.monotonic() + timeout
    while True:
        page = requests.get(page_url, timeout=20)
        assert page.status_code == 200, page.text
        if 'http-equiv="refresh"' not in page.text:  # the page stops refreshing once the answer is there
            return page.text
        assert time.monotonic() < deadline, "the answer page kept refreshing"
        time.sleep(0.5)


def test_the_signed_viewer_gets_an_answer_from_their_pages_only(api):
    alices = answer_page(api, post(api, "alice"))  # on the board: may read the Web3j report
    bobs = answer_page(api, post(api, "bob"))
    assert f'href="{url(SECRET_PAGE)}"' in alices
    assert url(SECRET_PAGE) not in bobs
    assert "Sources only" in alices  # the model is down: sources with the notice


def test_unsigned_forged_or_stale_boxes_are_refused(api):
    now = int(time.time())
    refused = {
        "no signature": post(api, "alice", sig=""),
        "wrong secret": post(api, "alice", sig=sign("alice", now, "not-the-secret")),
        "signed for bob, claims alice": post(api, "alice", sig=sign("bob", now)),
        "too old": post(api, "alice", ts=now - 301),
        "from the future": post(api, "alice", ts=now + 600),
    }
    assert {k: r.status_code for k, r in refused.items()} == {k: 401 for k in refused}
    assert "reload" in refused["too old"].text  # a small page in the frame that says what to do
    assert post(api, "alice", ts=now - 200).status_code == 303  # within the max age


def test_the_answer_page_needs_its_token(api):
    resp = post(api, "bob")
    location = resp.headers["Location"]
    answer_page(api, resp)
    tampered = re.sub(r"t=[0-9a-f]+", "t=" + "0" * 64, location)
    other_user = location.replace("u=bob", "u=alice")
    for path in (tampered, other_user):
        assert requests.get(api + path, timeout=20).status_code == 404


def test_without_a_shared_secret_the_endpoint_is_off(corpus):
    s = replace(corpus.settings, macro=replace(corpus.settings.macro, dc_shared_secret=""))
    with running_api(s) as api:
        resp = post(api, "alice")
    assert resp.status_code == 401 and "LORE_MACRO_DC_SHARED_SECRET" in resp.text


def configured_template(api: str) -> str:
    """The template as an admin pastes it: Lore's address and the shared secret filled in."""
    vm = TEMPLATE.read_text(encoding="utf-8")
    vm = re.sub(r'(?m)^#set\(\$loreUrl = ".*"\)$', f'#set($loreUrl = "{api}")', vm)
    return re.sub(r'(?m)^#set\(\$secret = ".*"\)$', f'#set($secret = "{SECRET}")', vm)


def rendered_form(html: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]* action="([^"]+)"', html)
    assert action, html
    fields = dict(re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"', html))
    return action.group(1), fields


def test_the_page_confluence_renders_signs_its_viewer_and_lore_answers_them(api):
    try:
        html = render(configured_template(api), "alice", space="")
        anonymous = render(configured_template(api), None)
    except RenderError as exc:
        pytest.fail(str(exc), pytrace=False)
    action, fields = rendered_form(html)
    assert action == f"{api}/dc/ask" and set(fields) == {"user", "ts", "sig", "space"}
    assert fields["user"] == "alice" and fields["sig"] == sign("alice", int(fields["ts"]))
    assert 'name="question"' in html and '<label for="lore-answer-4242-q"' in html
    assert "<form" not in anonymous and "Log in" in anonymous

    resp = requests.post(action, data={**fields, "question": GRADLE}, allow_redirects=False, timeout=20)
    assert f'href="{url(SECRET_PAGE)}"' in answer_page(api, resp)  # alice, on the board, gets the board's page
