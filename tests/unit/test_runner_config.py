"""Sync options, space configuration, the sync report and the recording hand-off: no network."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend.errors import BadRequest
from backend.settings import ConfluenceSettings, Settings
from backend.spaces import SpaceConfig, SpaceState
from connector.recordings import NOT_AVAILABLE, MinutesHandoff, is_queued
from connector.report import STORED_ITEMS, SpaceReport, SyncReport
from connector.runner import SyncOptions


def test_options_take_the_overlap_and_workers_from_settings() -> None:
    settings = Settings(confluence=ConfluenceSettings(overlap_minutes=3, workers=0))
    opts = SyncOptions.from_settings(settings, batch_size=7)
    assert (opts.overlap_minutes, opts.workers, opts.batch_size) == (3, 1, 7)
    assert opts.full_every_hours == 24.0 and not opts.allow_mass_delete


@pytest.mark.parametrize("raw", ["TOC", "~557058abc", "~jsmith", "DEV2", {"key": "OPS", "enabled": False}])
def test_space_keys_confluence_allows_are_accepted(raw) -> None:
    space = SpaceConfig.parse(raw)
    assert space.key == (raw if isinstance(raw, str) else raw["key"])


@pytest.mark.parametrize("raw, words", [
    ("", "not a Confluence space key"), ("A B", "not a Confluence space key"), ('X" or space = "Y', "space key"),
    ({"key": "A", "unrestricted_only": "true"}, "true or false"), ({"key": "A", "x": 1}, "Unknown space field"),
    (["A"], "a key or an object"),
])
def test_bad_space_config_is_refused_with_a_reason(raw, words) -> None:
    with pytest.raises(BadRequest, match=words):
        SpaceConfig.parse(raw)


def test_state_round_trips_and_ignores_fields_it_does_not_know() -> None:
    state = SpaceState("TOC", last_modified="2026-01-01T00:00:00+00:00", skips={"d": {"version": "1"}})
    again = SpaceState.from_dict({**state.to_dict(), "from_a_newer_version": True})
    assert again == state
    assert again.public()["skips"] == 1


def test_the_report_lists_every_skip_and_caps_only_what_it_stores() -> None:
    report = SpaceReport("TOC", mode="full", status="ok", total=300, pages=300, duration_s=10.0)
    report.skipped = [{"id": f"d{i}", "title": f"f{i}.pdf", "kind": "attachment",
                       "reason": "could not read PDF: broken"} for i in range(STORED_ITEMS + 5)]
    stored = report.to_dict()
    assert stored["skipped_count"] == STORED_ITEMS + 5 and len(stored["skipped"]) == STORED_ITEMS
    assert stored["skip_reasons"] == {"could not read PDF": STORED_ITEMS + 5}
    assert stored["pages_per_s"] == 30.0
    text = report.render()
    assert text.startswith("TOC: OK (full) in 10.0s, 300/300 pages, 30.0 pages/s")
    assert f"... and {STORED_ITEMS + 5 - 50} more" in text


def test_a_sync_is_ok_unless_a_space_failed() -> None:
    assert SyncReport([SpaceReport("A", status="ok"), SpaceReport("B", status="partial")]).ok
    assert not SyncReport([SpaceReport("A", status="ok"), SpaceReport("B", status="failed")]).ok
    assert "spaces add KEY" in SyncReport().render()


def test_recordings_wait_for_the_minutes_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.recordings.minutes_pipeline_available", lambda: False)
    hook = MinutesHandoff(Settings())
    assert hook("123", {"id": "att1", "title": "call.mp4"}) == NOT_AVAILABLE
    no_redis = MinutesHandoff(replace(Settings(), redis_url=""))
    assert "LORE_REDIS_URL" in no_redis("123", {"id": "att1"})
    assert not is_queued(NOT_AVAILABLE) and is_queued("recording queued for minutes (job minutes-att1-v1)")
