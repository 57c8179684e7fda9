"""The admin endpoints on a minimal Flask app, with the spaces store on the real Elasticsearch."""

from __future__ import annotations

from dataclasses import replace

import pytest
from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient

from backend.api.admin import admin_bp, init_app
from backend.settings import Settings
from backend.spaces import SpaceState, SpaceStore

TOKEN = "admin-secret-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_app(settings: Settings) -> Flask:
    app = Flask("lore-admin-test")
    init_app(app, settings)
    return app


@pytest.fixture
def admin_settings(isolated_settings: Settings) -> Settings:
    return replace(isolated_settings, api=replace(isolated_settings.api, admin_token=TOKEN))


@pytest.fixture
def client(admin_settings: Settings) -> FlaskClient:
    return make_app(admin_settings).test_client()


def test_every_endpoint_needs_the_admin_token(client: FlaskClient) -> None:
    for method, path in (("get", "/api/admin/spaces"), ("put", "/api/admin/spaces"), ("get", "/api/admin/status")):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            resp = getattr(client, method)(path, headers=headers, json=["TOC"])
            assert resp.status_code == 401, (method, path, headers)
            assert "LORE_API_ADMIN_TOKEN" in resp.get_json()["error"]["message"]
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/admin/spaces").get_json()["error"]["code"] == "not_allowed"


def test_without_an_admin_token_configured_the_api_is_off_and_says_how_to_turn_it_on(
        isolated_settings: Settings) -> None:
    client = make_app(isolated_settings).test_client()  # admin_token is empty
    resp = client.get("/api/admin/spaces", headers={"Authorization": "Bearer "})
    assert resp.status_code == 503
    assert "LORE_API_ADMIN_TOKEN" in resp.get_json()["error"]["message"]


def test_a_blueprint_registered_without_init_app_answers_503_not_a_traceback() -> None:
    app = Flask("bare")
    app.register_blueprint(admin_bp)
    resp = app.test_client().get("/api/admin/status", headers=AUTH)
    assert resp.status_code == 503 and "init_app" in resp.get_json()["error"]["message"]


def test_put_replaces_the_indexed_spaces_and_get_shows_them(client: FlaskClient) -> None:
    assert client.get("/api/admin/spaces", headers=AUTH).get_json() == {"spaces": []}

    resp = client.put("/api/admin/spaces", headers=AUTH,
                      json=["TOC", {"key": "MEET", "unrestricted_only": True, "name": "Minutes"}])
    assert resp.status_code == 200
    spaces = {s["key"]: s for s in client.get("/api/admin/spaces", headers=AUTH).get_json()["spaces"]}
    assert set(spaces) == {"TOC", "MEET"}
    assert spaces["MEET"]["unrestricted_only"] is True and spaces["MEET"]["name"] == "Minutes"
    assert spaces["TOC"]["enabled"] is True and spaces["TOC"]["added"]

    # the object form, and PUT semantics: what is not listed is no longer indexed
    resp = client.put("/api/admin/spaces", headers=AUTH, json={"spaces": [{"key": "REP", "enabled": False}, "TOC"]})
    assert [s["key"] for s in resp.get_json()["spaces"]] == ["REP", "TOC"]
    spaces = {s["key"]: s for s in client.get("/api/admin/spaces", headers=AUTH).get_json()["spaces"]}
    assert set(spaces) == {"REP", "TOC"} and spaces["REP"]["enabled"] is False


@pytest.mark.parametrize("body, words", [
    ({"nope": 1}, "JSON list"),
    ("TOC", "JSON list"),
    (["TOC", "TOC"], "listed twice"),
    (["has space"], "not a Confluence space key"),
    (['A"B'], "not a Confluence space key"),
    ([{"key": "TOC", "enabled": "yes"}], "true or false"),
    ([{"key": "TOC", "colour": "red"}], "Unknown space field"),
    ([42], "a key or an object"),
])
def test_bad_space_lists_are_refused_with_a_reason_and_change_nothing(client: FlaskClient, body, words) -> None:
    client.put("/api/admin/spaces", headers=AUTH, json=["KEEP"])
    resp = client.put("/api/admin/spaces", headers=AUTH, json=body)
    assert resp.status_code == 400
    assert words in resp.get_json()["error"]["message"]
    assert [s["key"] for s in client.get("/api/admin/spaces", headers=AUTH).get_json()["spaces"]] == ["KEEP"]


def test_status_shows_each_space_cursor_and_last_report(client: FlaskClient, admin_settings: Settings,
                                                        es: Elasticsearch) -> None:
    client.put("/api/admin/spaces", headers=AUTH, json=["TOC", "MEET"])
    store = SpaceStore(es, admin_settings.es)
    store.save_state(SpaceState("TOC", last_modified="2026-11-02T09:00:00+00:00", timezone="Europe/Berlin",
                                sync_id="abc", last_report={"status": "ok", "added": 12},
                                skips={"confluence:attachment:att1": {"version": "1", "reason": "empty"}}))

    rows = {r["key"]: r for r in client.get("/api/admin/status", headers=AUTH).get_json()["spaces"]}

    assert rows["TOC"]["state"]["last_modified"] == "2026-11-02T09:00:00+00:00"
    assert rows["TOC"]["state"]["timezone"] == "Europe/Berlin"
    assert rows["TOC"]["state"]["last_report"] == {"status": "ok", "added": 12}
    assert rows["TOC"]["state"]["skips"] == 1  # summarised, not the whole map
    assert rows["MEET"]["state"]["last_modified"] is None and rows["MEET"]["state"]["in_progress"] is False
