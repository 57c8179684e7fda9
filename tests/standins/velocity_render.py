"""Confluence's user-macro renderer, stood in by Apache Velocity 1.7 (the engine line Confluence embeds) run by
`velocity/RenderUserMacro.java`. The jars come from Maven Central once (Maven's cache, like Elasticsearch's zip)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RENDERER = HERE / "velocity" / "RenderUserMacro.java"
M2 = Path(os.environ.get("MAVEN_REPO", Path.home() / ".m2" / "repository"))
# velocity 1.7 and what it needs at runtime (its pom's compile dependencies)
ARTIFACTS = ["org.apache.velocity:velocity:1.7", "commons-lang:commons-lang:2.4",
             "commons-collections:commons-collections:3.2.1"]


class RenderError(Exception):
    pass


def _jar(coordinate: str) -> Path:
    group, artifact, version = coordinate.split(":")
    return M2.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.jar")


def classpath() -> str:
    missing = [a for a in ARTIFACTS if not _jar(a).is_file()]
    for coordinate in missing:
        if shutil.which("mvn") is None:
            raise RenderError("Maven (mvn) is needed once to fetch Apache Velocity: apt-get install maven")
        proc = subprocess.run(["mvn", "-q", "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get",
                               f"-Dartifact={coordinate}", "-Dtransitive=false"],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not _jar(coordinate).is_file():
            raise RenderError(f"Maven could not fetch {coordinate}: {proc.stdout[-1000:]}{proc.stderr[-1000:]}")
    return os.pathsep.join(str(_jar(a)) for a in ARTIFACTS)


def render(template: str, user: str | None, content_id: int = 4242, **params: str) -> str:
    """The HTML a page shows for this user macro, viewed by `user` (None: an anonymous visitor)."""
    if shutil.which("java") is None:
        raise RenderError("Java is needed to run Velocity (the same JDK Elasticsearch runs on)")
    with tempfile.NamedTemporaryFile("w", suffix=".vm", encoding="utf-8", delete=False) as f:
        f.write(template)  # a file of its own: two test runs may render at once
    path = Path(f.name)
    try:
        args = ["java", "-cp", classpath(), str(RENDERER), str(path), user or "", str(content_id),
                *[f"{k}={v}" for k, v in params.items()]]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RenderError(f"Velocity failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout
