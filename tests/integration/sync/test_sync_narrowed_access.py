"""Narrowed access narrows at once: content that leaves the sync account's sight, a space it can no longer read,
and a space an admin removes or disables stop being findable by anyone, whatever the prune guard decides.

The sync account here is an ordinary member of groups (not the stand-in's superuser), as at a customer that
gives Lore a normal service user.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from backend.api.admin import init_app
from tests.integration.sync.conftest import SyncEnv
from tests.standins.confluence_state import SERVICE_ACCOUNT

READERS = ("alice", "bob", "carol")
TOKEN = "admin-token-for-narrowing-tests"


def ordinary_sync_account(env: SyncEnv) -> None:
    svc = env.state.users[SERVICE_ACCOUNT]
    svc.superuser = False
    svc.groups = {"confluence-users", "toc-members", "finance"}  # reads the seeded spaces, not carol's own page


def space_docs(env: SyncEnv, key: str) -> set[str]:
    return {c["doc_id"] for c in env.chunks().values() if c["space"] == key}


def visible_to_anyone(env: SyncEnv, doc_ids: set[str]) -> set[str]:
    seen = set(env.visible_doc_ids(["public"]))
    for name in READERS:
        seen |= env.visible_doc_ids(env.identities(name))
    return seen & doc_ids


def test_a_home_page_restricted_to_a_group_the_sync_account_lacks_hides_the_whole_space_at_once(
        sync_env: SyncEnv) -> None:
    ordinary_sync_account(sync_env)
    assert sync_env.sync("MEET", full=True).ok
    meet = space_docs(sync_env, "MEET")
    assert len(meet) > 20 and visible_to_anyone(sync_env, meet)  # bob (confluence-users) reads the minutes
    home = sync_env.seed.homes["MEET"]
    sync_env.state.restrict(home, groups={"board-only"})  # no version bump, as in Confluence

    report = sync_env.sync("MEET").space("MEET")

    # the listing lost the whole space: too much for the prune guard to delete, but nobody may see any of it
    assert visible_to_anyone(sync_env, meet) == set()
    assert space_docs(sync_env, "MEET") == meet, "nothing is deleted while the guard holds"
    assert {h["reason"] for h in report.hidden} and len(report.hidden) == len(meet)
    assert any(e["id"] == "prune" and "hidden from every reader" in e["reason"] for e in report.errors)
    assert "hidden from every reader" in report.render()

    # the restriction is lifted (again no version bump): the next sync gives the readers their pages back,
    # without embedding anything again
    sync_env.state.restrict(home)
    texts = sync_env.embedder.texts
    again = sync_env.sync("MEET").space("MEET")
    assert again.status == "ok", again.render()
    assert sync_env.embedder.texts == texts
    bob = sync_env.visible_doc_ids(sync_env.identities("bob"))
    assert {d for d in meet if sync_env.may_read("bob", d)} <= bob
    assert not {d for d in bob & meet if not sync_env.may_read("bob", d)}


def test_a_space_the_sync_account_can_no_longer_read_is_hidden_at_once_and_comes_back(sync_env: SyncEnv) -> None:
    ordinary_sync_account(sync_env)
    assert sync_env.sync("REP", full=True).ok
    rep = space_docs(sync_env, "REP")
    assert visible_to_anyone(sync_env, rep)
    space = sync_env.state.spaces["REP"]
    space.read_groups = {"finance"}  # the sync account is in toc-members, carol in finance
    sync_env.state.users[SERVICE_ACCOUNT].groups.discard("finance")

    report = sync_env.sync("REP").space("REP")

    assert report.status == "failed" and "cannot see it" in (report.last_error or "")
    # carol may still read REP in Confluence, but Lore can no longer tell what she may read: nobody sees it
    assert visible_to_anyone(sync_env, rep) == set()
    assert space_docs(sync_env, "REP") == rep, "hiding deletes nothing"
    assert len(report.hidden) == len(rep)

    sync_env.state.users[SERVICE_ACCOUNT].groups.add("finance")
    assert sync_env.sync("REP").space("REP").status == "ok"
    carol = sync_env.visible_doc_ids(sync_env.identities("carol"))
    assert {d for d in rep if sync_env.may_read("carol", d)} <= carol
    assert not (sync_env.visible_doc_ids(sync_env.identities("bob")) & rep)  # bob never was in REP's groups


def test_content_that_becomes_readable_without_a_new_version_is_indexed_by_the_next_incremental_sync(
        sync_env: SyncEnv) -> None:
    ordinary_sync_account(sync_env)
    carol_page = sync_env.seed.user_restricted_id  # restricted to carol: the sync account cannot see it
    doc = f"confluence:page:{carol_page}"
    assert sync_env.sync("TOC", full=True).ok
    assert doc not in sync_env.doc_ids()
    sync_env.state.restrict(carol_page)  # the restriction is lifted; Confluence keeps the version

    report = sync_env.sync("TOC").space("TOC")

    assert report.mode == "incremental"
    assert doc in sync_env.visible_doc_ids(sync_env.identities("bob"))
    assert any("missing from the index" in n for n in report.notes)


def test_removing_or_disabling_a_space_through_the_admin_api_takes_effect_without_a_sync(sync_env: SyncEnv) -> None:
    assert sync_env.sync("TOC", "MEET", full=True).ok
    toc = space_docs(sync_env, "TOC")
    assert space_docs(sync_env, "MEET")
    settings = replace(sync_env.settings, api=replace(sync_env.settings.api, admin_token=TOKEN))
    app = Flask("narrowing")
    init_app(app, settings)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    resp = client.put("/api/admin/spaces", headers=auth, json=[{"key": "TOC", "enabled": False}, "REP"])

    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["purged_chunks"]["MEET"] > 0 and body["hidden_documents"]["TOC"] == len(toc)
    assert space_docs(sync_env, "MEET") == set()  # removed: purged
    assert visible_to_anyone(sync_env, toc) == set()  # disabled: hidden from everyone, kept for re-enabling
    status = {s["key"]: s for s in client.get("/api/admin/status", headers=auth).get_json()["spaces"]}
    assert status["TOC"]["hidden_documents"] == len(toc)

    # re-enabled: the next sync shows it again, from the index it kept (no embedding)
    assert client.put("/api/admin/spaces", headers=auth, json=["TOC", "REP"]).status_code == 200
    texts = sync_env.embedder.texts
    assert sync_env.sync("TOC").ok
    assert sync_env.embedder.texts == texts
    assert {d for d in toc if sync_env.may_read("bob", d)} <= sync_env.visible_doc_ids(sync_env.identities("bob"))


def test_a_space_removed_while_it_syncs_stops_at_the_next_checkpoint_and_is_purged(sync_env: SyncEnv) -> None:
    removed = []

    def remove_after_first_batch(progress) -> None:
        if progress.phase == "indexing" and progress.batches == 1 and not removed:
            removed.append(sync_env.store.remove_space("MEET"))

    report = sync_env.sync("MEET", full=True, progress=remove_after_first_batch, batch_size=5).space("MEET")

    assert removed == [True]
    assert report.status == "stopped" and "removed" in report.last_error
    assert space_docs(sync_env, "MEET") == set()
    assert sync_env.store.get_space("MEET") is None and sync_env.store.get_state("MEET").sync_id == ""
