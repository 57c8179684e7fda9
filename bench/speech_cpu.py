"""Pipeline vs faster-whisper directly, in CPU seconds of this process (all CTranslate2 threads) as well as wall
seconds: on a shared 2-core box the wall clock measures the neighbours, the CPU clock mostly what we do.

`PYTHONPATH=. python bench/speech_cpu.py MODEL COMPUTE_TYPE REPEAT FILE...` (bench/speech.md has the figures).
"""

import resource
import sys
import time
from dataclasses import replace

from backend.minutes.transcribe import load_model, transcribe
from backend.settings import MinutesSettings, Settings


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

# REPEAT 2 or more: the first call also loads the VAD model (Silero, ONNX), which the minimum leaves out
model, ct, reps, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
cache = Settings.from_env().cache_dir
ms = replace(MinutesSettings(), model=model, compute_type=ct)
whisper = load_model(ms, cache_dir=cache)
for path in paths:
    best = {"pipeline": [9e9, 9e9], "direct": [9e9, 9e9]}
    for _ in range(reps):
        for name in ("pipeline", "direct"):
            w, c = time.monotonic(), cpu()
            if name == "pipeline":
                transcribe(path, ms, cache_dir=cache)
            else:
                segments, _ = whisper.transcribe(path, language=None, beam_size=ms.beam_size, vad_filter=True)
                " ".join(s.text for s in segments)
            best[name] = [min(best[name][0], time.monotonic() - w), min(best[name][1], cpu() - c)]
    (pw, pc), (dw, dc) = best["pipeline"], best["direct"]
    print(f"{model} {ct} {path.split('/')[-1]}: wall {pw:.2f}/{dw:.2f} s ({(pw / dw - 1) * 100:+.1f}%), "
          f"cpu {pc:.2f}/{dc:.2f} s ({(pc / dc - 1) * 100:+.1f}%)", flush=True)
