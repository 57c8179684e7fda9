"""Transcription with the real packaged tiny.en on the shared clips: text, times, windows, bad files, the CLIs."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.errors import ExtractionError
from backend.minutes.transcribe import SAMPLE_RATE, decode_windows, probe, transcribe
from backend.settings import MinutesSettings, Settings
from tests.conftest import REPO

SAMPLE = "TS3004b_92-127.wav"


def _wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype(np.int16).tobytes())
    return path


def test_jfk_is_transcribed_word_for_word_with_times(shared_data: Path) -> None:
    got = transcribe(shared_data / "audio" / "jfk.wav", MinutesSettings())

    text = " ".join(s.text for s in got.segments).lower()
    assert "ask not what your country can do for you" in text
    assert "ask what you can do for your country" in text
    assert got.language == "en" and got.model == "tiny.en" and got.duration == pytest.approx(11.0, abs=0.1)
    assert got.segments[0].start < 1.0 and got.segments[-1].end == pytest.approx(11.0, abs=1.0)


def test_short_windows_keep_the_recordings_clock_and_its_words(shared_data: Path) -> None:
    path = shared_data / "audio" / SAMPLE
    whole = transcribe(path, MinutesSettings())
    marks: list[float] = []
    windowed = transcribe(path, replace(MinutesSettings(), window_seconds=30), progress=marks.append)

    starts = [s.start for s in windowed.segments]
    assert starts == sorted(starts) and windowed.segments[-1].end > 110  # times are the recording's, not the window's
    words = lambda t: {w.strip(".,?!").lower() for s in t.segments for w in s.text.split()}  # noqa: E731
    assert len(words(whole) & words(windowed)) >= 0.85 * len(words(whole))
    assert marks == sorted(marks) and marks[-1] == 1.0 and len(marks) > 4  # progress per window and segment


def test_long_recordings_are_decoded_a_window_at_a_time(tmp_path: Path) -> None:
    # 20 minutes of a quiet hum: the decoder must never hand out (or hold) the whole file
    tone = (np.sin(np.arange(SAMPLE_RATE * 1200) * 2 * np.pi * 220 / SAMPLE_RATE) * 300).astype(np.int16)
    path = _wav(tmp_path / "long.wav", tone)
    del tone

    windows = [(offset, samples.shape[0]) for offset, samples in decode_windows(path, window_seconds=60)]

    assert max(n for _, n in windows) <= 60 * SAMPLE_RATE
    assert sum(n for _, n in windows) == 1200 * SAMPLE_RATE  # nothing lost or doubled at the cuts
    assert [o for o, _ in windows] == sorted(o for o, _ in windows) and len(windows) >= 20


@pytest.mark.parametrize("make, code, words", [
    (lambda s: np.random.default_rng(3).bytes(50_000), "corrupt_audio", "not a readable audio"),
    (lambda s: s[: len(s) // 2], "truncated_audio", "truncated"),
    (lambda s: s[:20] + b"\x34\x12" + s[22:], "unsupported_codec", "codec"),
])
def test_bad_files_fail_before_transcription_with_a_reason(shared_data: Path, tmp_path: Path, make, code: str,
                                                           words: str) -> None:
    path = tmp_path / "rec.wav"
    path.write_bytes(make((shared_data / "audio" / "jfk.wav").read_bytes()))
    with pytest.raises(ExtractionError) as err:
        probe(path, "standup.wav")
    assert err.value.code == code and words in str(err.value) and "standup.wav" in str(err.value)


def test_a_silent_recording_says_nobody_spoke(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as err:
        transcribe(_wav(tmp_path / "quiet.wav", np.zeros(SAMPLE_RATE * 15)), MinutesSettings())
    assert err.value.code == "no_speech" and "No speech" in str(err.value)


def test_transcribe_cli_prints_times_and_writes_json(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    run = subprocess.run([sys.executable, "-m", "backend.minutes", "transcribe", str(shared_data / "audio" / "jfk.wav"),
                          "--model", "tiny.en", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[00:00 - ") and "your country" in run.stdout
    data = json.loads(out.read_text())
    assert data["segments"][0]["start"] == 0.0 and data["language"] == "en"


def test_asr_eval_reports_wer_and_rtf_per_clip_and_overall(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "asr.json"
    run = subprocess.run([sys.executable, "-m", "backend.eval", "asr", "--manifest",
                          str(shared_data / "audio" / "manifest.jsonl"), "--json", str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert [c["id"] for c in report["clips"]][0] == "jfk" and report["clips"][0]["wer"] == 0.0
    assert 0 < report["wer"] < 0.3 and 0 < report["rtf"] < 1 and "pipeline_overhead" in report
    assert "overall (tiny.en, int8): WER" in run.stdout


def test_whispers_normaliser_makes_case_punctuation_and_numbers_no_errors() -> None:
    from backend.eval.asr import edit_distance, normalizer

    norm = normalizer()
    assert norm("Mr. Smith paid twenty-five dollars!") == norm("mister smith paid $25")
    assert edit_distance("a b c d".split(), "a x c".split()) == 2


def test_minutes_settings_come_from_the_environment() -> None:
    s = Settings.from_env({"LORE_MINUTES_MODEL": "/models/base", "LORE_MINUTES_WINDOW_SECONDS": "300"}, dotenv=None)
    assert s.minutes.model == "/models/base" and s.minutes.window_seconds == 300.0
