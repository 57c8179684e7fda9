"""The one thin module that speaks to Whisper: faster-whisper on audio decoded by PyAV, window by window.

faster-whisper's own `decode_audio` holds a whole recording in memory (int16 buffer, then a float32 copy:
~1 GB for 3 hours at 16 kHz), so recordings are demuxed once to check them (`probe`), then decoded and
transcribed `window_seconds` at a time, each window cut at its quietest point near the end so no word is
split. Segment times are shifted back to the recording's clock. Failures are `ExtractionError`s whose
message says what is wrong with the file; the models resolve offline (never downloaded).
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import ConfigError, ExtractionError
from backend.minutes.types import Segment, Transcript
from backend.models import resolve_whisper
from backend.settings import MinutesSettings, Settings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper's feature extractor expects
CUT_SEARCH_SECONDS = 5.0  # a window ends at the quietest point of its last 5 s ...
CUT_FRAME_SECONDS = 0.1  # ... measured in 100 ms frames (shorter than a syllable)
TRUNCATED_RATIO = 0.9  # less than 90% of the declared length decodes: the file was cut off in transit
MAX_BAD_PACKETS = 50  # a few undecodable packets happen in real files; more means the data is damaged

Progress = Callable[[float], None]  # fraction of the recording transcribed, 0..1


# ---- the model ----------------------------------------------------------------------------------


def resolve_model(name: str, cache_dir: str | Path | None = None) -> str:
    """A folder holding a CTranslate2 Whisper model: a folder given by path, or a packaged one (tiny.en in place;
    base, multilingual, assembled once into `cache_dir`: entry points pass Settings.cache_dir)."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    return str(resolve_whisper(name, cache_dir or Settings.cache_dir))


_models: dict[tuple[str, str, int], Any] = {}
_models_lock = threading.Lock()


def load_model(settings: MinutesSettings, model: str | None = None, cache_dir: str | Path | None = None) -> Any:
    """The WhisperModel for these settings, loaded once per process (a worker keeps it between jobs)."""
    from faster_whisper import WhisperModel

    path = resolve_model(model or settings.model, cache_dir)
    key = (path, settings.compute_type, settings.cpu_threads)
    with _models_lock:
        if key not in _models:
            try:
                _models[key] = WhisperModel(path, device="cpu", compute_type=settings.compute_type,
                                            cpu_threads=settings.cpu_threads, local_files_only=True)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"Speech model at {path} did not load with LORE_MINUTES_COMPUTE_TYPE="
                                  f"{settings.compute_type}: {exc}") from None
        return _models[key]


# ---- checking and decoding ----------------------------------------------------------------------


@dataclass
class AudioInfo:
    duration: float  # seconds that really demux (what progress is measured against)
    declared: float  # seconds the container claims
    codec: str
    container: str


def probe(path: str | Path, title: str = "") -> AudioInfo:
    """Demux the whole file once without decoding (fast) and decode its first packets: a bad file fails here,
    before any transcription, with a reason a person can act on."""
    import av

    name = title or Path(path).name
    wav_missing = _wav_missing_bytes(path)
    if wav_missing:
        raise ExtractionError(f"Recording {name!r} is truncated: its header announces {wav_missing:,} more bytes "
                              "than the file holds (an interrupted upload?). Upload the complete file again.",
                              code="truncated_audio")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise ExtractionError(f"Recording {name!r} is not a readable audio or video file ({_reason(exc)}): it may "
                              "be damaged or cut off; upload it again.", code="corrupt_audio") from None
    with container:
        if not container.streams.audio:
            raise ExtractionError(f"Recording {name!r} ({container.format.name}) has no audio track.",
                                  code="no_audio")
        stream = container.streams.audio[0]
        codec = stream.codec_context.name if stream.codec_context is not None else ""
        if not codec:
            raise ExtractionError(f"Recording {name!r} uses an audio codec Lore cannot decode (container "
                                  f"{container.format.name}); convert it to WAV, MP3, M4A/AAC or Opus.",
                                  code="unsupported_codec")
        declared = float(container.duration / 1_000_000) if container.duration else 0.0
        seconds, decoded_any, bad = 0.0, False, 0
        try:
            for packet in container.demux(stream):
                if packet.duration and packet.time_base:
                    seconds += float(packet.duration * packet.time_base)
                if not decoded_any and packet.size:
                    try:
                        decoded_any = bool(packet.decode())
                    except av.error.InvalidDataError:
                        bad += 1
                        if bad > MAX_BAD_PACKETS:
                            break
        except av.error.FFmpegError as exc:
            raise ExtractionError(f"Recording {name!r} is damaged after {seconds:.0f} s ({_reason(exc)}); upload "
                                  "it again.", code="corrupt_audio") from None
        if not decoded_any:
            raise ExtractionError(f"Recording {name!r} holds no decodable {codec} audio: the data is damaged.",
                                  code="corrupt_audio")
    if declared and seconds < TRUNCATED_RATIO * declared:
        raise ExtractionError(f"Recording {name!r} is truncated: {seconds:.0f} s of the announced {declared:.0f} s "
                              "are there. Upload the complete file again.", code="truncated_audio")
    return AudioInfo(duration=seconds or declared, declared=declared, codec=codec, container=container.format.name)


def decode_windows(path: str | Path, window_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, 16 kHz mono float32 samples) per window; at most ~2 windows in memory at once."""
    import av

    window = max(int(window_seconds * SAMPLE_RATE), int(2 * CUT_SEARCH_SECONDS * SAMPLE_RATE))
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    pending: list[np.ndarray] = []
    held, offset = 0, 0
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        for frame in _frames(container, stream):
            frame.pts = None  # resampling ignores the source's (sometimes broken) timestamps
            for out in resampler.resample(frame):
                pending.append(out.to_ndarray().reshape(-1))
                held += pending[-1].shape[0]
            if held >= window:
                samples = np.concatenate(pending)
                cut = _quiet_cut(samples, window)
                yield offset / SAMPLE_RATE, samples[:cut].astype(np.float32) / 32768.0
                offset += cut
                pending, held = [samples[cut:]], samples.shape[0] - cut
                del samples
        for out in resampler.resample(None):
            pending.append(out.to_ndarray().reshape(-1))
    if pending and sum(p.shape[0] for p in pending):
        yield offset / SAMPLE_RATE, np.concatenate(pending).astype(np.float32) / 32768.0


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    import av

    bad = 0
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:  # a damaged packet: skip it (probe already bounded how many)
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise ExtractionError("The recording has too many undecodable packets: the data is damaged.",
                                      code="corrupt_audio") from None


def _quiet_cut(samples: np.ndarray, window: int) -> int:
    """Index near `window` where the audio is quietest (a pause), searched in the window's last seconds."""
    frame = int(CUT_FRAME_SECONDS * SAMPLE_RATE)
    start = window - int(CUT_SEARCH_SECONDS * SAMPLE_RATE)
    region = samples[start:window].astype(np.float32)
    n = region.shape[0] // frame
    if n == 0:
        return window
    energy = (region[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return start + int(np.argmin(energy)) * frame + frame // 2


def _wav_missing_bytes(path: str | Path) -> int:
    """For a RIFF/WAVE file: how many bytes of its `data` chunk are missing (FFmpeg quietly shortens it)."""
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    pos = 12
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk == b"data":
            if length in (0, 0xFFFFFFFF):  # streamed WAVs leave the size open
                return 0
            return max(0, pos + 8 + length - size)
        pos += 8 + length + (length & 1)
    return 0


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


# ---- transcription ------------------------------------------------------------------------------


def iter_segments(path: str | Path, settings: MinutesSettings, *, model: Any = None, info: AudioInfo | None = None,
                  progress: Progress | None = None, language: list[str] | None = None) -> Iterator[Segment]:
    """Segments as they are recognised, window by window, on the recording's clock.

    `language` (a one-item list) receives the detected language. VAD on; no word timestamps (segments only).
    """
    info = info or probe(path)
    model = model or load_model(settings)
    lang = settings.language or None
    total = max(info.duration, 1e-6)
    done = 0.0  # reported fraction; never goes back (Whisper may time a segment past its window's cut)

    def report(fraction: float) -> None:
        nonlocal done
        if progress and fraction > done:
            done = min(1.0, fraction)
            progress(done)

    for offset, samples in decode_windows(path, settings.window_seconds):
        segments, meta = model.transcribe(samples, language=lang, beam_size=settings.beam_size, vad_filter=True,
                                          word_timestamps=False, condition_on_previous_text=True)
        for seg in segments:
            text = seg.text.strip()
            if text:
                yield Segment(start=round(offset + seg.start, 2), end=round(offset + seg.end, 2), text=text)
            report((offset + seg.end) / total)
        if lang is None and meta.duration_after_vad > 0:
            lang = meta.language  # detected on the first window with speech; later windows keep it
            if language is not None:
                language[:] = [lang]
        report((offset + samples.shape[0] / SAMPLE_RATE) / total)
        del samples
    report(1.0)


def transcribe(path: str | Path, settings: MinutesSettings, *, model: str | None = None,
               progress: Progress | None = None, title: str = "", cache_dir: str | Path | None = None) -> Transcript:
    """The whole transcript of a recording. Raises ExtractionError (code `no_speech`) when nobody speaks."""
    info = probe(path, title)
    language: list[str] = [settings.language] if settings.language else []
    whisper = load_model(settings, model, cache_dir)
    segments = list(iter_segments(path, settings, model=whisper, info=info, progress=progress, language=language))
    name = model or settings.model
    if not segments:
        raise ExtractionError(f"No speech was found in recording {title or Path(path).name!r} "
                              f"({info.duration:.0f} s): no minutes were written.", code="no_speech")
    return Transcript(segments=segments, language=language[0] if language else "", duration=round(info.duration, 2),
                      model=Path(name).name if Path(name).is_dir() else name)
