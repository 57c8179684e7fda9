"""The one embedding path: a sentence-transformers model resolved offline, batched, normalised vectors.

Torch's thread count is a setting because on the 2-vCPU VMs one thread beat two (bench/embed_threads.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from backend.errors import ConfigError
from backend.models import resolve_embedding_model
from backend.onnx_embed import BGE_NAME, resolve_bge
from backend.settings import EmbedSettings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[tuple[str, str], object] = {}  # one model per (path, device) per process
# Query vectors remembered per embedder: a repeated question (the ask page's search then answer, a Slack
# retry, the same question from several people) skips the model, which costs ~10-30 ms a query on one
# thread. 384 float32 = 1.5 KB each, so 1,024 entries hold ~1.5 MB.
QUERY_CACHE_SIZE = 1024


class Embedder:
    """Encodes texts into L2-normalised float32 vectors.

    `.calls`, `.texts` and `.seconds` count encode batches, texts and time spent in the model, for the
    "no re-embedding" checks and the benchmarks' share-of-time figures. Query vectors are kept in a small
    LRU keyed by model and text (`encode_query`); `.query_hits` counts the queries it answered.
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
        self.query_hits = 0
        self._queries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

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
        key = (self.path, self.query_prefix + text)
        with self._queries_lock:
            vector = self._queries.get(key)
            if vector is not None:
                self._queries.move_to_end(key)
                self.query_hits += 1
                return vector.tolist()
        vector = self.encode([key[1]])[0]  # outside the lock: two threads may both encode a new query, harmlessly
        with self._queries_lock:
            self._queries[key] = vector
            self._queries.move_to_end(key)
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector.tolist()

    def clear_query_cache(self) -> None:
        """Forget remembered query vectors (benchmarks time a question never asked before)."""
        with self._queries_lock:
            self._queries.clear()


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
