"""The Forge app (manifests/forge) from the Python suite: its locked dependencies install, the front end builds,
its JavaScript tests pass and Forge's own validator accepts manifest.yml. Any failure fails this test, with the
tool's output. `npm ci` runs once per package-lock.json (a stamp in node_modules), so reruns need no network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "manifests" / "forge"
STAMP = APP / "node_modules" / ".lore-lock-sha256"


def npm(*args: str, timeout: float) -> str:
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: install Node.js 20+ (apt-get install nodejs npm).", pytrace=False)
    proc = subprocess.run(["npm", *args], cwd=APP, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"`npm {' '.join(args)}` in {APP} failed ({proc.returncode}):\n{out[-4000:]}", pytrace=False)
    return out


@pytest.fixture(scope="module")
def installed() -> None:
    lock = hashlib.sha256((APP / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.is_file() or STAMP.read_text().strip() != lock:
        npm("ci", "--no-audit", "--no-fund", timeout=600)  # exactly the locked versions
        STAMP.write_text(lock)
    npm("run", "build", timeout=300)


def test_the_front_end_tests_pass(installed):
    out = npm("test", timeout=300)
    assert "passed" in out and "failed" not in out, out[-2000:]


def test_forge_validates_the_manifest(installed):
    assert "manifest.yml is valid" in npm("run", "validate", timeout=300)


def test_dependencies_are_pinned_exactly():
    import json

    package = json.loads((APP / "package.json").read_text())
    ranges = {name: v for deps in ("dependencies", "devDependencies") for name, v in package.get(deps, {}).items()
              if not v[:1].isdigit()}
    assert ranges == {}, f"pin these exactly (npm install -E): {ranges}"
