"""One sync per space at a time: a second sync of a space being synced is refused and touches nothing;
the lock of a sync that died expires and the next one proceeds; status tells running from interrupted."""

from __future__ import annotations

import threading
import time

import pytest

from backend.locks import SpaceLock, SpaceLocked, lock_id
from connector.__main__ import EXIT_OK, main
from connector.runner import Progress
from tests.integration.sync.conftest import SyncEnv
from tests.integration.sync.test_sync_cli import cli_env

SPACE = "REP"


def test_a_second_sync_of_a_space_being_synced_is_refused_and_touches_nothing(
        sync_env: SyncEnv, capsys: pytest.CaptureFixture) -> None:
    seen: dict = {}

    def second_sync_meanwhile(p: Progress) -> None:
        if p.phase != "indexing" or p.batches != 1 or seen:
            return
        # the first sync is halfway through its space: another process starts a sync of the same space
        seen["state_before"] = sync_env.store.get_state(SPACE).to_dict()
        seen["calls_before"] = sync_env.embedder.calls
        seen["chunks_before"] = sync_env.chunks()
        seen["report"] = sync_env.sync(SPACE).space(SPACE)
        seen["calls_after"] = sync_env.embedder.calls
        seen["state_after"] = sync_env.store.get_state(SPACE).to_dict()
        seen["chunks_after"] = sync_env.chunks()
        assert main(["status"], cli_env(sync_env)) == EXIT_OK
        seen["status"] = capsys.readouterr().out

    first = sync_env.sync(SPACE, full=True, progress=second_sync_meanwhile, batch_size=2).space(SPACE)

    second = seen["report"]
    assert second.status == "busy" and second.error_code == "sync_running"
    assert f"space {SPACE} is already being synced by " in second.last_error and " since 20" in second.last_error
    assert f"{SPACE}: BUSY" in second.render()
    # it read nothing, embedded nothing, wrote nothing
    assert seen["calls_after"] == seen["calls_before"]
    assert seen["state_after"] == seen["state_before"] and seen["chunks_after"] == seen["chunks_before"]
    assert f"{SPACE} (RUNNING since " in seen["status"]
    # the first one was not disturbed and finished the space
    assert first.status == "ok" and first.pages == first.total, first.render()
    assert set(sync_env.markers()) == {c["doc_id"] for c in sync_env.chunks().values()}
    row = next(r for r in sync_env.store.status() if r["key"] == SPACE)
    assert row["lock"] is None and not row["state"]["running"] and not row["state"]["interrupted"]
    assert sync_env.sync(SPACE).space(SPACE).status == "ok"  # released: the next one runs


def test_the_lock_of_a_sync_that_died_expires_and_the_next_sync_proceeds(
        sync_env: SyncEnv, capsys: pytest.CaptureFixture) -> None:
    state = sync_env.store.get_state(SPACE)
    state.in_progress = True
    sync_env.store.save_state(state)
    dead = SpaceLock.acquire(sync_env.store, SPACE, "worker-7:4242:deadbeef", ttl=2)
    dead.abandon()  # the process is gone: nobody renews, nobody releases
    assert main(["status"], cli_env(sync_env)) == EXIT_OK
    assert f"{SPACE} (RUNNING since " in capsys.readouterr().out
    refused = sync_env.sync(SPACE).space(SPACE)
    assert refused.status == "busy" and "worker-7:4242:deadbeef" in refused.last_error

    time.sleep(2.5)
    assert main(["status"], cli_env(sync_env)) == EXIT_OK
    assert f"{SPACE} (INTERRUPTED" in capsys.readouterr().out
    report = sync_env.sync(SPACE).space(SPACE)

    assert report.status == "ok", report.render()
    assert any("took over the expired sync lock of worker-7:4242:deadbeef" in n for n in report.notes)
    assert sync_env.markers()


def test_of_many_processes_racing_for_a_space_exactly_one_gets_it(sync_env: SyncEnv) -> None:
    dead = SpaceLock.acquire(sync_env.store, SPACE, "gone:1:x", ttl=1)
    dead.abandon()
    time.sleep(1.2)  # expired: every racer tries to take it over at once
    won, refused = [], []
    start = threading.Barrier(8)

    def race(n: int) -> None:
        start.wait()
        try:
            won.append(SpaceLock.acquire(sync_env.store, SPACE, f"racer-{n}", ttl=30))
        except SpaceLocked as exc:
            refused.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(won) == 1 and len(refused) == 7
    assert all(exc.owner == won[0].owner for exc in refused)
    won[0].renew()
    won[0].check()  # still its own after renewing
    won[0].release()
    SpaceLock.acquire(sync_env.store, SPACE, "after", ttl=30).release()  # free again


def test_a_sync_whose_lock_was_taken_over_stops_and_leaves_the_new_holders_state_alone(sync_env: SyncEnv) -> None:
    store = sync_env.store

    def taken_over(p: Progress) -> None:
        if p.phase == "indexing" and p.batches == 1:
            # the sync stalled past its lease (say Elasticsearch was away) and another process took it over
            store.es.index(index=store.index, id=lock_id(SPACE), refresh=True, document={
                "kind": "lock", "key": SPACE, "owner": "usurper:1:abc", "since": "2026-11-29T10:00:00+00:00",
                "expires": "2999-01-01T00:00:00+00:00"})

    report = sync_env.sync(SPACE, full=True, progress=taken_over, batch_size=2).space(SPACE)

    assert report.status == "failed" and report.pages < report.total
    assert "lost its lock to usurper:1:abc" in report.last_error
    # it did not release (delete) the new holder's lock, nor write its own last report over that holder's
    assert store.es.get(index=store.index, id=lock_id(SPACE))["_source"]["owner"] == "usurper:1:abc"
    assert (store.get_state(SPACE).last_report or {}).get("sync_id") != report.sync_id
