"""An on-disk cache of embeddings for the evaluation, so comparing configurations does not re-embed a corpus.

Embedding the sample wiki takes ~10 minutes on a 2-core machine; a BM25, fusion or schema change needs none
of it again, and a chunking change only the chunks it changed. Keyed by model, sequence length and the exact
text the model reads. Only `backend.eval` uses it: the indexer and the connector always embed.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np

from backend.embeddings import Embedder


class CachedEmbedder:
    """Looks like an `Embedder` to the indexer and searcher; texts seen before come from `path`."""

    def __init__(self, embedder: Embedder, folder: str | Path):
        self.inner = embedder
        self.model_name = embedder.model_name
        self.dims = embedder.dims
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{embedder.model_name}-{embedder.settings.max_seq_length}")
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(Path(folder) / f"{safe}.sqlite"), check_same_thread=False, timeout=120)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self._lock = threading.Lock()
        self.hits = 0
        self.calls = 0
        self.texts = 0

    @property
    def seconds(self) -> float:  # time spent in the model: cached texts cost none
        return self.inner.seconds

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        self.calls += 1
        self.texts += len(texts)
        keys = [hashlib.sha1(t.encode("utf-8", "replace")).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                part = keys[start:start + 500]
                rows = self.db.execute(f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(part))})", part)
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(missing)
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing])
            with self._lock:
                self.db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                                    [(keys[i], fresh[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)])
                self.db.commit()
            for j, i in enumerate(missing):
                found[keys[i]] = fresh[j]
        return np.stack([found[k] for k in keys]).astype(np.float32)

    @property
    def query_prefix(self) -> str:
        return self.inner.query_prefix

    def encode_query(self, text: str) -> list[float]:
        # not stored on disk (a user waits for each query); the Embedder itself keeps recent query vectors in memory
        return self.inner.encode_query(text)

