"""A meeting transcript is readable by exactly who may read its recording page now, and goes when the page goes.

The transcript is indexed the way the minutes job indexes it (`transcript_document`, the job's own function),
from a hand-written Transcript instead of Whisper, so each test costs syncs, not a transcription.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from backend.api.admin import init_app
from backend.confluence.write import ConfluenceWriter
from backend.indexer import Indexer
from backend.minutes.jobs import transcript_document
from backend.minutes.types import Segment, Transcript
from backend.search import Searcher
from tests.integration.sync.conftest import SyncEnv

PHRASE = "the quokka migration budget was approved by the committee"
QUERY = "quokka migration budget"
TOKEN = "admin-token-for-transcript-tests"


def index_transcript(env: SyncEnv, version: int = 1) -> str:
    """Index the seeded recording's transcript as the minutes job does; returns its document id."""
    client = env.client()
    att = env.state.attachments[env.seed.recording_id]
    recording = ConfluenceWriter(client).page(att.page_id)
    attachment = next(a for a in client.attachments(att.page_id) if a["id"] == att.id)
    transcript = Transcript([Segment(0.0, 4.0, PHRASE.capitalize() + ".", "alice"),
                             Segment(4.0, 8.0, "Action: alice files the quokka report.", "bob")])
    doc = transcript_document(client, recording, attachment, transcript, "MEET", version, att.title)
    report = Indexer(env.es, env.settings, env.embedder).index_documents([doc])
    assert not report.failed_docs and not report.errors
    env.es.indices.refresh(index=env.settings.es.index)
    return doc.id


def finds(env: SyncEnv, name: str, doc_id: str) -> bool:
    """Whether `name` gets the transcript from backend search (hybrid, with the ACL filter every search uses)."""
    env.es.indices.refresh(index=env.settings.es.index)
    result = Searcher(env.es, env.settings, env.embedder).search(QUERY, env.identities(name), k=20)
    return doc_id in {d.doc_id for d in result.docs}


def recording_page(env: SyncEnv) -> str:
    return env.state.attachments[env.seed.recording_id].page_id


def test_restricting_the_recording_page_narrows_its_transcript_at_the_next_sync(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    transcript = index_transcript(sync_env)
    assert finds(sync_env, "alice", transcript) and finds(sync_env, "bob", transcript)

    sync_env.state.restrict(recording_page(sync_env), groups={"toc-members"})  # alice's group, not bob's
    report = sync_env.sync("MEET").space("MEET")

    assert report.status == "ok", report.render()
    assert not finds(sync_env, "bob", transcript), "bob lost the page: he must lose its transcript"
    assert finds(sync_env, "alice", transcript), "alice kept the page and keeps its transcript"
    assert sync_env.may_read("alice", f"confluence:page:{recording_page(sync_env)}")

    sync_env.state.restrict(recording_page(sync_env))  # lifted again: bob reads it after the next sync
    assert sync_env.sync("MEET").ok
    assert finds(sync_env, "bob", transcript)


def test_deleting_the_recording_page_or_the_recording_deletes_the_transcript(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    transcript = index_transcript(sync_env)
    assert finds(sync_env, "alice", transcript)

    sync_env.state.delete(recording_page(sync_env))  # the page with its attachments
    report = sync_env.sync("MEET").space("MEET")

    assert report.status == "ok", report.render()
    assert transcript not in sync_env.doc_ids()
    assert not finds(sync_env, "alice", transcript)


def test_a_deleted_or_replaced_recording_takes_its_transcript_along(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    transcript = index_transcript(sync_env)
    assert sync_env.sync("MEET", full=True).ok
    assert transcript in sync_env.doc_ids(), "a full sync leaves the transcript of the current version alone"

    sync_env.state.attachments[sync_env.seed.recording_id].version = 2  # a new file uploaded over it
    assert sync_env.sync("MEET", full=True).ok
    assert transcript not in sync_env.doc_ids(), "the text of a version that no longer exists stays findable"

    transcript = index_transcript(sync_env, version=2)  # the new version's job wrote its own
    assert sync_env.sync("MEET", full=True).ok
    assert transcript in sync_env.doc_ids(), "the current version's transcript stays"
    del sync_env.state.attachments[sync_env.seed.recording_id]  # the recording is deleted, the page stays
    assert sync_env.sync("MEET", full=True).ok
    assert transcript not in sync_env.doc_ids()


def admin_client(env: SyncEnv):
    settings = replace(env.settings, api=replace(env.settings.api, admin_token=TOKEN))
    app = Flask("transcripts")
    init_app(app, settings)
    return app.test_client()


def test_disabling_the_space_through_the_admin_api_hides_the_transcript_at_once(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    transcript = index_transcript(sync_env)
    assert finds(sync_env, "alice", transcript)

    resp = admin_client(sync_env).put("/api/admin/spaces", headers={"Authorization": f"Bearer {TOKEN}"},
                                      json=["TOC", {"key": "MEET", "enabled": False}, "REP"])

    assert resp.status_code == 200, resp.get_json()
    assert transcript in sync_env.doc_ids(), "disabling keeps it for re-enabling"
    assert not finds(sync_env, "alice", transcript)


def test_removing_the_space_through_the_admin_api_deletes_the_transcript_at_once(sync_env: SyncEnv) -> None:
    assert sync_env.sync("MEET", full=True).ok
    transcript = index_transcript(sync_env)
    assert finds(sync_env, "alice", transcript)

    resp = admin_client(sync_env).put("/api/admin/spaces", headers={"Authorization": f"Bearer {TOKEN}"},
                                      json=["TOC", "REP"])

    assert resp.status_code == 200, resp.get_json()
    assert transcript not in sync_env.doc_ids()
