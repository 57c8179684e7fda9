"""Bad input never stops a sync: every item that cannot be indexed is in the report with its reason."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from backend.search import Searcher
from connector.recordings import QUEUED, MinutesHandoff
from tests.integration.sync.conftest import MALFORMED_PHRASE, PDF_PHRASE, SyncEnv

# Broken storage XHTML as editors and migrations leave it: unclosed tags, an unknown entity, a stray CDATA end,
# a macro that never closes, a table cell without a table.
MALFORMED = (f"<p>{MALFORMED_PHRASE}<b><i>unclosed emphasis <ac:structured-macro ac:name=\"info\">"
             "<ac:rich-text-body><p>keep calm &bogus; and &nbsp; index on]]></p><td>orphan cell"
             "<ac:link><ri:page ri:content-title=\"Nowhere\"/>")
CHROME_ONLY = '<ac:structured-macro ac:name="toc" ac:schema-version="1"/><p> </p>'


def reasons(report, space: str = "TOC") -> dict[str, str]:
    return {s["title"]: s["reason"] for s in report.space(space).skipped}


def test_bad_attachments_and_markup_are_reported_with_reasons_and_the_sync_goes_on(sync_env: SyncEnv,
                                                                                   tmp_path: Path) -> None:
    home = sync_env.seed.homes["TOC"]
    broken = sync_env.state.add_page("TOC", "Broken markup page", MALFORMED, parent_id=home)
    sync_env.state.add_page("TOC", "Only a table of contents", CHROME_ONLY, parent_id=home)

    report = sync_env.sync("TOC", full=True)

    toc = report.space("TOC")
    assert toc.status == "ok" and not toc.errors, toc.render()
    why = reasons(report)
    assert "could not read PDF" in why["scanned-notes.pdf"]  # corrupt
    assert "encrypted" in why["locked-budget.pdf"] and "password" in why["locked-budget.pdf"]
    assert "empty" in why["empty-notes.txt"]
    assert "unsupported" in why["diagram.png"]
    assert "too large" in why["minutes-archive.pdf"] and "LORE_CONFLUENCE_ATTACHMENT_MAX_BYTES" in why[
        "minutes-archive.pdf"]
    assert "no text to index" in why["Only a table of contents"]
    # the 200 MB file was judged by its declared size: not one byte of it was downloaded
    big = sync_env.seed.attachments["minutes-archive.pdf"]
    assert not [r for r in sync_env.state.requests if "download" in r.path and "minutes-archive" in r.path]
    assert f"confluence:attachment:{big}" not in sync_env.doc_ids()
    # the malformed page is indexed all the same, and everything good around the bad files too
    searcher = Searcher(sync_env.es, sync_env.settings, sync_env.embedder)
    assert searcher.search(MALFORMED_PHRASE, ["public"], k=3).docs[0].doc_id == f"confluence:page:{broken.id}"
    pdf = f"confluence:attachment:{sync_env.seed.attachments['charter-summary.pdf']}"
    assert pdf in [d.doc_id for d in searcher.search(PDF_PHRASE, ["public"], k=5).docs]
    # a skipped version is not downloaded again on the next sync
    downloads = len([r for r in sync_env.state.requests if "download" in r.path])
    again = sync_env.sync("TOC", full=True)
    assert reasons(again) == why
    assert len([r for r in sync_env.state.requests if "download" in r.path]) == downloads


def test_a_file_whose_declared_size_lies_is_streamed_to_disk_and_cut_off_at_the_cap(sync_env: SyncEnv,
                                                                                     tmp_path: Path) -> None:
    big = sync_env.state.attachments[sync_env.seed.attachments["minutes-archive.pdf"]]
    client = sync_env.client()
    listing = list(client.attachments(big.page_id))
    for att in listing:
        att["extensions"]["fileSize"] = 1234  # the listing claims a small file; the download is 200 MB
    sync_env.state.inject(f"/rest/api/content/{big.page_id}/child/attachment?", 200, count=1,
                          body={"results": listing, "start": 0, "limit": 50, "size": len(listing), "_links": {}})
    workdir = tmp_path / "downloads"
    cap = 5_000_000

    runner = sync_env.runner(settings=_with_cap(sync_env, cap), workdir=workdir)
    report = runner.sync([sync_env.store.get_space("TOC")], full=True)

    why = reasons(report)
    assert "more than" in why["minutes-archive.pdf"] and "cap 5.0 MB" in why["minutes-archive.pdf"], why
    assert not [p for p in workdir.rglob("*") if p.is_file()], "a partial download was left behind"
    assert report.space("TOC").status == "ok"


def _with_cap(env: SyncEnv, cap: int):
    return replace(env.settings, confluence=replace(env.settings.confluence, attachment_max_bytes=cap))


def test_recordings_are_handed_to_the_minutes_queue_not_indexed(sync_env: SyncEnv) -> None:
    import redis
    from rq import Queue

    queue = f"lore-test-minutes-{uuid.uuid4().hex[:8]}"  # no worker listens: the job only waits there
    hook = MinutesHandoff(sync_env.settings, space="MEET", queue=queue)
    try:
        report = sync_env.sync("MEET", full=True, on_recording=hook)
        meet = report.space("MEET")
        recording = f"confluence:attachment:{sync_env.seed.recording_id}"
        assert [r["id"] for r in meet.recordings] == [recording]
        job_id = f"minutes-{sync_env.seed.recording_id}-v1"
        assert meet.recordings[0]["status"] == f"{QUEUED} (job {job_id})"
        assert recording not in sync_env.doc_ids()
        assert f"{QUEUED} (job {job_id})" in meet.render()
        jobs = Queue(queue, connection=redis.Redis.from_url(sync_env.settings.redis_url))
        assert jobs.job_ids == [job_id]
        assert jobs.fetch_job(job_id).kwargs["page_id"]  # the job names the page to post the minutes under
    finally:
        Queue(queue, connection=redis.Redis.from_url(sync_env.settings.redis_url)).delete(delete_jobs=True)


def test_a_page_over_the_time_budget_is_skipped_with_the_reason_and_not_fetched_again(sync_env: SyncEnv) -> None:
    # A small budget instead of a pathological page: every body converts in linear time now, so "over budget"
    # is a long page (3 MB, ~0.6 s here) against 0.1 s; the seeded pages convert in a few ms. One worker, so no
    # page's clock runs while another page's conversion holds the interpreter.
    paragraph = "<p>The quarterly report lists every budget line, owner and <b>deadline</b> of the project.</p>\n"
    big = sync_env.state.add_page("REP", "Every budget line ever", paragraph * (3_000_000 // len(paragraph)),
                                  parent_id=sync_env.seed.homes["REP"])
    settings = replace(sync_env.settings, confluence=replace(sync_env.settings.confluence, item_seconds=0.1,
                                                              workers=1))
    big_id = f"confluence:page:{big.id}"

    def body_fetches() -> int:
        return len([r for r in sync_env.state.requests if r.path == f"/rest/api/content/{big.id}"
                    and "body.storage" in r.query.get("expand", "")])

    report = sync_env.runner(settings=settings).sync([sync_env.store.get_space("REP")], full=True)

    rep = report.space("REP")
    assert rep.status == "ok" and not rep.errors, rep.render()
    assert list(reasons(report, "REP")) == ["Every budget line ever"]
    why = reasons(report, "REP")["Every budget line ever"]
    assert "took longer than 0.1 s" in why and "LORE_CONFLUENCE_ITEM_SECONDS" in why
    assert why in rep.render()  # what `python -m connector sync` prints
    # the rest of the space is indexed; the page is not
    others = {f"confluence:page:{c.id}" for c in sync_env.state.contents.values()
              if c.space == "REP" and c.type == "page" and c.id != big.id}
    indexed = sync_env.doc_ids(settings)
    assert others <= indexed and big_id not in indexed
    assert body_fetches() == 1

    again = sync_env.runner(settings=settings).sync([sync_env.store.get_space("REP")], full=True)

    assert reasons(again, "REP") == {"Every budget line ever": why}  # still reported, from the remembered skip
    assert body_fetches() == 1  # ...without downloading or converting that version again
