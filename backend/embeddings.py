"""The one embedding path: a sentence-transformers model resolved offline, batched, normalised vectors.

Torch's thread count is a setting because on the 2-vCPU VMs one thread beat two (bench/embed_threads.py).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from backend.errors import ConfigError
from backend.models import resolve_embedding_model
from backend.onnx_embed import BGE_NAME, resolve_bge
from backend.settings import EmbedSettings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[tuple[str, str], object] = {}  # one model per (path, device) per process


class Embedder:
    """Encodes texts into L2-normalised float32 vectors.

    `.calls`, `.texts` and `.seconds` count encode batches, texts and time spent in the model, for the
    "no re-embedding" checks and the benchmarks' share-of-time figures.
    """

    def __init__(self, settings: EmbedSettings, cache_dir: str | Path):
        import torch

        self.settings = settings
        self.model_name = settings.model
        if settings.torch_threads > 0:
            torch.set_num_threads(settings.torch_threads)
        if settings.model.lower() in (BGE_NAME, f"baai/{BGE_NAME}"):  # ONNX, not sentence-transformers
            self.path = str(resolve_bge(cache_dir))
            self._model = _load(self.path, "onnx", settings.torch_threads)
        else:
            self.path = resolve_embedding_model(settings.model, cache_dir)
            self._model = _load(self.path, settings.device)
        self._model.max_seq_length = settings.max_seq_length
        # bge wants an instruction before queries (not passages); MiniLM and mpnet want none
        self.query_prefix: str = getattr(self._model, "query_prefix", "")
        dims = self._model.get_embedding_dimension()
        if not dims:
            raise ConfigError(f"Embedding model {settings.model!r} does not report its dimension.")
        self.dims = int(dims)
        self.calls = 0
        self.texts = 0
        self.seconds = 0.0

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        self.calls += 1
        self.texts += len(texts)
        started = time.perf_counter()
        vectors = self._model.encode(
            texts,
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,  # dot_product similarity in the index needs unit vectors
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.seconds += time.perf_counter() - started
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> list[float]:
        return self.encode([self.query_prefix + text])[0].tolist()


def _load(path: str, device: str, threads: int = 1):
    key = (path, device)
    with _lock:
        if key not in _loaded and device == "onnx":
            from backend.onnx_embed import OnnxBge

            log.info("loading ONNX embedding model from %s", path)
            _loaded[key] = OnnxBge(path, threads)
        if key not in _loaded:
            from sentence_transformers import SentenceTransformer

            log.info("loading embedding model from %s", path)
            try:
                _loaded[key] = SentenceTransformer(path, device=device, local_files_only=Path(path).is_dir())
            except OSError as exc:
                raise ConfigError(
                    f"Could not load the embedding model at {path}: {exc}. Check LORE_EMBED_MODEL."
                ) from exc
        return _loaded[key]
