"""The rq job the connector enqueues by name: one recording version -> transcript (indexed) -> minutes page.

    process_recording(page_id, attachment_id, version, title, space)   # on the `minutes` queue

Progress, stage and any reason live in `job.meta` (GET /api/admin/jobs, `python -m connector status`).
Retryable failures (Confluence 5xx/429, Elasticsearch or Redis down) are retried by rq with the backoff of
LORE_MINUTES_RETRY_INTERVALS; permanent ones (a damaged file, a deleted page) fail at once with their reason.
An LLM outage is no failure: the summariser falls back to extractive minutes, and the page says so.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.documents import Document
from backend.errors import ExtractionError, LoreError, SourceError, SourceNotFound
from backend.minutes.types import Transcript
from backend.settings import Settings

log = logging.getLogger(__name__)

META_SAVE_SECONDS = 2.0  # progress reaches Redis at most this often (a 3-hour file yields ~2,000 segments)
# share of the progress bar each stage takes: transcription dominates on CPU, the LLM is next
STAGES = {"downloading": (0.0, 0.05), "transcribing": (0.05, 0.7), "indexing": (0.7, 0.75),
          "summarizing": (0.75, 0.95), "posting": (0.95, 1.0)}
FINISHED_REASONS = ("no_speech", "superseded")  # nothing to post, and nothing wrong: the job finishes
# The file itself is at fault: this version will never transcribe. The job fails with `permanent` in its meta, and
# the connector stops offering this version again (a new upload is a new version, and a new job).
FILE_FAULTS = ("truncated_audio", "corrupt_audio", "no_audio", "unsupported_codec")


class JobMeta:
    """The job's visible state in `job.meta`, saved at most every META_SAVE_SECONDS (and at each stage)."""

    def __init__(self, job: Any, **fields: Any):
        self.job = job
        self.meta: dict[str, Any] = job.meta if job is not None else {}
        self.meta.update(fields, reason="", progress=0.0)
        self._saved = 0.0
        self.save()

    def stage(self, name: str) -> None:
        self.meta.update(stage=name, progress=STAGES.get(name, (self.meta.get("progress", 0.0),))[0])
        self.save()

    def progress(self, fraction: float, *_: Any) -> None:
        low, high = STAGES.get(self.meta.get("stage", ""), (0.0, 1.0))
        self.meta["progress"] = round(low + (high - low) * max(0.0, min(1.0, fraction)), 4)
        if time.monotonic() - self._saved >= META_SAVE_SECONDS:
            self.save()

    def update(self, **fields: Any) -> None:
        self.meta.update(fields)
        self.save()

    def save(self) -> None:
        self._saved = time.monotonic()
        if self.job is not None:
            self.job.meta = self.meta
            self.job.save_meta()


def process_recording(page_id: str, attachment_id: str, version: int, title: str, space: str) -> dict:
    """The rq entry point: settings from the environment (the worker is an entry point), then `run`."""
    from rq import get_current_job

    settings = Settings.from_env()
    job = get_current_job()
    _arm_retries(job, settings)
    meta = JobMeta(job, page_id=page_id, attachment_id=attachment_id, version=version, title=title, space=space)
    try:
        return run(settings, meta, page_id=page_id, attachment_id=attachment_id, version=int(version), title=title,
                   space=space)
    except LoreError as exc:
        if exc.code in FINISHED_REASONS:
            meta.update(stage="done", progress=1.0, reason=exc.message, posted=False)
            return {"posted": False, "reason": exc.message}
        retryable = exc.retryable or exc.code == "http_409"  # 409: a concurrent property write; read again
        meta.update(stage="retrying" if retryable and _retries_left(job) else "failed", reason=exc.message,
                    **({"permanent": True} if exc.code in FILE_FAULTS else {}))
        if not retryable and job is not None:
            job.retries_left = 0  # a damaged file stays damaged: fail now, keep the reason
        raise


def run(settings: Settings, meta: JobMeta, *, page_id: str, attachment_id: str, version: int, title: str,
        space: str) -> dict:
    from backend.confluence.client import ConfluenceClient
    from backend.confluence.write import ConfluenceWriter
    from backend.minutes import post

    client = ConfluenceClient(settings.confluence)
    writer = ConfluenceWriter(client)
    key = post.property_key(settings.minutes.property_key, attachment_id)
    done = post.posted_record(writer, page_id, key)
    if done.get("state") == "posted" and int(done.get("version", 0)) >= version and done.get("page_id"):
        page = writer.page(done["page_id"])  # already posted (a re-enqueued job): no second transcription
        url = writer.page_url(page)
        meta.update(stage="done", progress=1.0, minutes_url=url, minutes_page_id=page["id"], posted=True)
        return {"posted": True, "action": "unchanged", "minutes_url": url, "minutes_page_id": page["id"]}
    recording = writer.page(page_id)
    attachment = _attachment(client, page_id, attachment_id)
    current = int((attachment.get("version") or {}).get("number", version))
    if current > version:
        raise LoreError(f"Recording {title!r} has a newer version ({current}) whose own job writes the minutes.",
                        code="superseded")
    meeting = recording.get("title") or title
    date = ((attachment.get("version") or {}).get("when") or "")[:10]

    meta.stage("downloading")
    tmp = Path(tempfile.mkdtemp(prefix="lore-minutes-"))  # mode 0700, removed whatever happens
    try:
        path = client.download_attachment(page_id, attachment, tmp, settings.confluence.recording_max_bytes,
                                          setting="LORE_CONFLUENCE_RECORDING_MAX_BYTES")
        meta.stage("transcribing")
        transcript = _transcribe(path, settings, meta, title)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    meta.stage("indexing")
    _index_transcript(settings, client, recording, attachment, transcript, space, version, title)

    meta.stage("summarizing")
    from backend.minutes.render import render_storage
    from backend.minutes.summarize import summarize

    minutes = summarize(transcript, settings, meeting=meeting, date=date, attendees=[], progress=meta.progress)
    body = render_storage(minutes, recording_title=title)

    meta.stage("posting")
    restriction = client.read_restrictions(page_id)
    posted = post.post_minutes(writer, recording_page_id=page_id, space=recording.get("space", {}).get("key", space),
                               key=key, version=version, title=post.minutes_title(meeting, date), body=body,
                               read_identities=restriction)
    meta.update(stage="done", progress=1.0, minutes_url=posted.url, minutes_page_id=posted.page_id, posted=True,
                method=minutes.method, notes=list(minutes.notes))
    return {"posted": True, "action": posted.action, "minutes_url": posted.url, "minutes_page_id": posted.page_id,
            "method": minutes.method, "segments": len(transcript.segments)}


def _attachment(client: Any, page_id: str, attachment_id: str) -> dict:
    for att in client.attachments(page_id):
        if att.get("id") == attachment_id:
            return att
    raise SourceNotFound(f"The recording (attachment {attachment_id}) is no longer on page {page_id}: nothing to "
                         "transcribe.")


def _transcribe(path: Path, settings: Settings, meta: JobMeta, title: str) -> Transcript:
    from backend.minutes.transcribe import transcribe

    try:
        return transcribe(path, settings.minutes, progress=meta.progress, title=title, cache_dir=settings.cache_dir)
    except ExtractionError:
        raise
    except (RuntimeError, ValueError, OSError) as exc:  # a decoder or model failure the probe did not foresee
        raise ExtractionError(f"Recording {title!r} could not be transcribed ({type(exc).__name__}: {exc}).",
                              code="transcription_failed") from None


def transcript_text(transcript: Transcript) -> str:
    """One line per segment with its time in the recording: a search hit says where to listen."""
    lines = []
    for seg in transcript.segments:
        who = f"{seg.speaker}: " if seg.speaker else ""
        lines.append(f"[{clock(seg.start)}] {who}{seg.text}")
    return "\n".join(lines)


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


TRANSCRIPT_SOURCE = "minutes"


def transcript_document(client: Any, recording: dict, attachment: dict, transcript: Transcript, space: str,
                        version: int, title: str) -> Document:
    """The transcript as one searchable document, under the recording page's space and restriction levels.

    `parent_id` is the recording page's document id as the connector writes it (`confluence:page:<id>`), so the
    sync's access pass finds the transcripts of a page it refreshes, hides or prunes (connector/transcripts.py).
    """
    from backend.confluence.write import ConfluenceWriter

    key = recording.get("space", {}).get("key", space)
    return Document(
        id=f"confluence:transcript:{attachment['id']}", title=f"Transcript: {title} ({recording.get('title', '')})",
        text=transcript_text(transcript), url=ConfluenceWriter(client).page_url(recording), source=TRANSCRIPT_SOURCE,
        kind="meeting", space=key, version=str(version),
        updated=(attachment.get("version") or {}).get("when"), acl=client.space_read_identities(key),
        restrictions=client.ancestors_read_restrictions(recording),
        parent_id=f"confluence:{recording.get('type') or 'page'}:{recording['id']}",
        ancestors=[a["id"] for a in recording.get("ancestors", [])],
    )


def _index_transcript(settings: Settings, client: Any, recording: dict, attachment: dict, transcript: Transcript,
                      space: str, version: int, title: str) -> None:
    from backend.embeddings import Embedder
    from backend.es import connect
    from backend.indexer import Indexer

    doc = transcript_document(client, recording, attachment, transcript, space, version, title)
    indexer = Indexer(connect(settings.es), settings, Embedder(settings.embed, settings.cache_dir))
    indexer.ensure_index()
    report = indexer.index_documents([doc])
    if report.failed_docs or report.errors:
        raise SourceError(f"The transcript of {title!r} was not fully indexed ({len(report.errors)} chunk errors).",
                          retryable=True, code="index_failed")


def _arm_retries(job: Any, settings: Settings) -> None:
    """Jobs enqueued without rq's Retry (the connector enqueues by name only) get the configured one, saved
    before any work: rq also uses it to re-run a job whose worker was killed."""
    if job is None or job.retries_left is not None:
        return
    intervals = [int(float(x)) for x in settings.minutes.retry_intervals.split(",") if x.strip()]
    job.retries_left = settings.minutes.retries
    job.retry_intervals = intervals or [0]
    job.save()


def _retries_left(job: Any) -> bool:
    return job is not None and bool(job.retries_left)
