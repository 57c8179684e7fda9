"""`python -m backend.eval asr --manifest manifest.jsonl`: word error rate and real-time factor of the speech step.

WER is corpus level (all edits / all reference words) after Whisper's English normaliser (the port in
`transformers.models.whisper.english_normalizer`, the same code as openai/whisper's `EnglishTextNormalizer`;
neither faster-whisper nor whisper-ctranslate2 ships one). Its British->American spelling table
(whisper's english.json) is not packaged offline: `--spelling FILE` supplies it, else spellings stay as said.
Each clip is transcribed twice in one run: through Lore's pipeline and by faster-whisper called directly on
the same file, so the pipeline's overhead is measured, not guessed.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from backend.errors import BadRequest
from backend.settings import Settings


def normalizer(spelling: str | None = None) -> Any:
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    mapping = json.loads(Path(spelling).read_text(encoding="utf-8")) if spelling else {}
    return EnglishTextNormalizer(mapping)


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def read_manifest(path: str) -> list[dict]:
    base = Path(path).parent
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "audio" not in row or "reference" not in row:
            raise BadRequest(f"{path}:{n}: each line needs `audio` (a path, relative to the manifest) and "
                             "`reference` (the words said)")
        row["path"] = str((base / row["audio"]).resolve())
        rows.append(row)
    return rows


def run_asr(manifest: str, settings: Settings, *, model: str | None = None, compute_type: str | None = None,
            spelling: str | None = None, direct: bool = True, repeat: int = 1) -> dict:
    """`repeat` > 1 times each clip that often, alternating pipeline and direct, and keeps each one's fastest:
    on a shared machine the minimum is the least disturbed measurement."""
    from backend.minutes.transcribe import AudioInfo, load_model, probe, transcribe

    ms = replace(settings.minutes, model=model or settings.minutes.model,
                 compute_type=compute_type or settings.minutes.compute_type)
    norm = normalizer(spelling)
    whisper = load_model(ms, cache_dir=settings.cache_dir)  # loaded (and assembled) once, outside every timing
    clips, edits, words, audio_s, pipe_s, direct_s = [], 0, 0, 0.0, 0.0, 0.0
    for row in read_manifest(manifest):
        info: AudioInfo = probe(row["path"])
        t_pipe, t_direct, hyp = float("inf"), None, ""
        for _ in range(max(1, repeat)):
            started = time.monotonic()
            hyp = " ".join(s.text for s in transcribe(row["path"], ms, cache_dir=settings.cache_dir).segments)
            t_pipe = min(t_pipe, time.monotonic() - started)
            if direct:
                started = time.monotonic()
                segments, _ = whisper.transcribe(row["path"], language=ms.language or None, beam_size=ms.beam_size,
                                                 vad_filter=True)
                " ".join(s.text for s in segments)  # the generator does the work
                t_direct = min(t_direct or float("inf"), time.monotonic() - started)
        if t_direct is not None:
            direct_s += t_direct
        ref_w, hyp_w = norm(row["reference"]).split(), norm(hyp).split()
        e = edit_distance(ref_w, hyp_w)
        edits, words, audio_s, pipe_s = edits + e, words + len(ref_w), audio_s + info.duration, pipe_s + t_pipe
        clips.append({"id": row.get("id", row["audio"]), "duration_s": round(info.duration, 2),
                      "wer": round(e / max(len(ref_w), 1), 4), "rtf": round(t_pipe / info.duration, 4),
                      "rtf_direct": round(t_direct / info.duration, 4) if t_direct is not None else None,
                      "hypothesis": hyp, "reference": row["reference"]})
    report = {"model": ms.model, "compute_type": ms.compute_type, "cpu_threads": ms.cpu_threads,
              "clips": clips, "wer": round(edits / max(words, 1), 4), "reference_words": words,
              "audio_s": round(audio_s, 2), "rtf": round(pipe_s / max(audio_s, 1e-9), 4),
              "spelling_map": bool(spelling)}
    if direct:
        report["rtf_direct"] = round(direct_s / max(audio_s, 1e-9), 4)
        report["pipeline_overhead"] = round(pipe_s / max(direct_s, 1e-9) - 1, 4)
    return report


def print_asr(report: dict) -> None:
    print(f"{'clip':48} {'sec':>7} {'WER':>7} {'RTF':>7} {'direct':>7}")
    for c in report["clips"]:
        direct = f"{c['rtf_direct']:.3f}" if c["rtf_direct"] is not None else "-"
        print(f"{c['id'][:48]:48} {c['duration_s']:7.1f} {c['wer']:7.3f} {c['rtf']:7.3f} {direct:>7}")
    line = (f"overall ({report['model']}, {report['compute_type']}): WER {report['wer']:.3f} over "
            f"{report['reference_words']} words, RTF {report['rtf']:.3f}")
    if "rtf_direct" in report:
        line += f" (faster-whisper directly {report['rtf_direct']:.3f}, pipeline overhead " \
                f"{report['pipeline_overhead'] * 100:+.1f}%)"
    print(line)
