"""`python -m connector` as an admin uses it: choose spaces, sync, read the status, get told what went wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from connector.__main__ import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.integration.sync.conftest import SyncEnv
from tests.standins.confluence_state import SERVICE_EMAIL, SERVICE_TOKEN

REPO = Path(__file__).resolve().parents[3]


def cli_env(env: SyncEnv, **overrides: str) -> dict[str, str]:
    s = env.settings
    values = {
        "LORE_ES_URL": s.es.url, "LORE_ES_INDEX": s.es.index, "LORE_ES_CONFIG_INDEX": s.es.config_index,
        "LORE_CONFLUENCE_URL": env.server.url, "LORE_CONFLUENCE_CLOUD": "true",
        "LORE_CONFLUENCE_EMAIL": SERVICE_EMAIL, "LORE_CONFLUENCE_API_TOKEN": SERVICE_TOKEN,
        "LORE_CONFLUENCE_BACKOFF_CAP": "0.5", "LORE_CACHE_DIR": s.cache_dir, "LORE_EMBED_MODEL": s.embed.model,
        "LORE_REDIS_URL": s.redis_url, "LORE_LOG_LEVEL": "WARNING",
    }
    return {**values, **overrides}


def test_choose_a_space_sync_it_and_read_the_status(sync_env: SyncEnv, capsys: pytest.CaptureFixture) -> None:
    import redis
    from rq import Queue

    queue = f"lore-test-minutes-{uuid.uuid4().hex[:8]}"  # the recording's job waits there: no worker listens
    env = cli_env(sync_env, LORE_MINUTES_QUEUE=queue)
    try:
        _choose_sync_and_read(sync_env, env, capsys)
    finally:
        Queue(queue, connection=redis.Redis.from_url(sync_env.settings.redis_url)).delete(delete_jobs=True)


def _choose_sync_and_read(sync_env: SyncEnv, env: dict[str, str], capsys: pytest.CaptureFixture) -> None:
    for key in ("TOC", "MEET", "REP"):
        sync_env.store.remove_space(key)

    assert main(["spaces", "list"], env) == EXIT_OK
    assert "No spaces are configured" in capsys.readouterr().out
    assert main(["spaces", "add", "MEET", "--unrestricted-only"], env) == EXIT_OK
    assert "sync --space MEET" in capsys.readouterr().out
    assert main(["spaces", "add", "NOPE"], env) == EXIT_FAILED  # checked against Confluence: a typo fails now
    assert "no such item" in capsys.readouterr().err
    assert main(["spaces", "list"], env) == EXIT_OK
    assert "MEET\tenabled, unrestricted only" in capsys.readouterr().out

    assert main(["sync", "--space", "MEET"], env) == EXIT_OK

    out = capsys.readouterr().out
    assert out.startswith("MEET: OK (full)") and "pages/s" in out
    assert "restricted: this space indexes unrestricted content only" in out
    assert f"recording queued for minutes (job minutes-{sync_env.seed.recording_id}-v1)" in out
    assert main(["status"], env) == EXIT_OK
    status = capsys.readouterr().out
    assert "MEET (unrestricted only)" in status and "cursor: 20" in status and "last sync: ok (full)" in status
    assert main(["sync", "--space", "TOC"], env) == EXIT_FAILED
    assert "space TOC is not configured" in capsys.readouterr().err

    assert main(["spaces", "remove", "MEET", "--purge"], env) == EXIT_OK
    assert "deleted from the index" in capsys.readouterr().out
    assert not sync_env.doc_ids()


def test_an_expired_token_exits_1_naming_the_setting_without_a_traceback(sync_env: SyncEnv,
                                                                         capsys: pytest.CaptureFixture) -> None:
    code = main(["sync", "--all"], cli_env(sync_env, LORE_CONFLUENCE_API_TOKEN="expired"))
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert err.startswith("error: Confluence Cloud rejected the credentials (401)")
    assert "LORE_CONFLUENCE_API_TOKEN" in err and "Traceback" not in err and "expired" not in err.split("(401)")[0]


def test_the_real_entry_point_exit_codes(sync_env: SyncEnv) -> None:
    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **cli_env(sync_env, **overrides), "PYTHONPATH": str(REPO)}
        # 60 s: no model is loaded by these commands; they connect, read the config index and print
        return subprocess.run([sys.executable, "-m", "connector", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=60)

    usage = run("sync")  # neither --space nor --all
    assert usage.returncode == EXIT_USAGE and "one of the arguments --space --all --channel is required" in usage.stderr
    status = run("status")
    assert status.returncode == EXIT_OK and "TOC" in status.stdout and "never" in status.stdout
    down = run("status", LORE_ES_URL="http://127.0.0.1:9")
    assert down.returncode == EXIT_FAILED and "Traceback" not in down.stderr
    assert down.stderr.startswith("error: Elasticsearch is not reachable at http://127.0.0.1:9")
