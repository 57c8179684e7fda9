"""Fixtures for connector tests: the Confluence stand-in seeded from a subset of the real wiki, a sync runner
writing into a throw-away index, and the oracles the assertions compare with (who may read what).

The subset keeps every page the seed and its second-sync scenario refer to, plus small pages, each cut to
SUBSET_WORDS words: the embedding model on 2 CPU cores is the cost, and what is tested is the plumbing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from backend.acl import LEVEL_FIELDS, acl_filter
from backend.confluence import ConfluenceClient
from backend.embeddings import Embedder
from backend.markers import IS_MARKER
from backend.settings import Settings
from backend.spaces import SpaceConfig, SpaceStore
from connector.confluence.source import ConfluenceSource
from connector.runner import ProgressHook, SyncOptions, SyncRunner
from tests.standins import confluence_seed as seedmod
from tests.standins import files
from tests.standins.confluence_app import ConfluenceState, StandinServer, serve
from tests.standins.confluence_seed import SeedAttachment, SeedResult, seed_from_wiki

SPACES = ("TOC", "MEET", "REP")
SUBSET_SMALL_PAGES = 30  # short pages added to the pages the scenario needs: ~50 pages over three spaces
SUBSET_WORDS = 220  # about one chunk per page
BIG_FILE_BYTES = 200 * 1024 * 1024  # a sparse file: declared 200 MB, costs no disk
# Pages the second-sync scenario edits, moves, restricts or deletes (tests/standins/confluence_seed.py)
SCENARIO = [
    "governing-documents/charter.md", "meeting-minutes/2024/index.md", "guidelines/project-best-practices.md",
    "guidelines/raising-an-issue.md", "project-reports/2019/2019-Q2-Hyperledger-Burrow.md",
    "meeting-minutes/2023/index.md", "meeting-minutes/2023/2023-01-12-TOC-meeting-record.md",
    "governing-documents/security.md", "guidelines/index.md", "member-info/toc-members.md",
]
PDF_PHRASE = "The charter summary says the Technical Oversight Committee has eleven voting members."
DOCX_PHRASE = "Report vulnerabilities privately to the security response team within two days."
MALFORMED_PHRASE = "Quokka tolerance procedure for malformed storage bodies"


def wiki_rows(shared_data: Path) -> list[dict]:
    path = shared_data / "wiki" / "hyperledger-toc.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def wiki_subset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wiki_subset(shared_data, tmp_path_factory.mktemp("wiki") / "subset.jsonl")


def write_wiki_subset(shared_data: Path, out: Path, words: int = SUBSET_WORDS) -> Path:
    """The subset described above, each page cut to `words` words, as a JSONL file at `out`."""
    rows = wiki_rows(shared_data)
    ids = {r["doc_id"] for r in rows}
    keep = set(seedmod.HOMES.values()) | {seedmod.RESTRICTED_PARENT, seedmod.USER_RESTRICTED}
    keep |= {d for d, _ in seedmod.COMMENTS} | set(SCENARIO)
    keep |= {d for d in ids if d.startswith(seedmod.RESTRICTED_PARENT.rsplit("/", 1)[0] + "/")}  # its children
    missing = sorted(keep - ids)
    assert not missing, f"the wiki data lacks pages the stand-in scenario needs: {missing}"
    small = sorted((r for r in rows if r["doc_id"] not in keep and 40 <= r["n_words"] <= 400),
                   key=lambda r: r["doc_id"])
    keep |= {r["doc_id"] for r in small[::max(1, len(small) // SUBSET_SMALL_PAGES)][:SUBSET_SMALL_PAGES]}
    with out.open("w", encoding="utf-8") as f:
        for r in rows:
            if r["doc_id"] in keep:
                f.write(json.dumps({**r, "text": " ".join(r["text"].split(" ")[:words])}) + "\n")
    return out


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "archive.pdf"
    with path.open("wb") as f:
        f.truncate(BIG_FILE_BYTES)
    return path


def attachment_set(big_file: Path) -> list[SeedAttachment]:
    """Good files, every kind of bad one, and a file too big to download."""
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return [
        SeedAttachment("governing-documents/charter.md", "charter-summary.pdf", "application/pdf",
                       files.make_pdf(PDF_PHRASE)),
        SeedAttachment("governing-documents/security.md", "security-policy.docx", docx,
                       files.make_docx(["# Disclosure", DOCX_PHRASE])),
        SeedAttachment("guidelines/index.md", "scanned-notes.pdf", "application/pdf", files.make_corrupt_pdf()),
        SeedAttachment("guidelines/index.md", "locked-budget.pdf", "application/pdf",
                       files.make_encrypted_pdf("the locked budget")),
        SeedAttachment("guidelines/index.md", "empty-notes.txt", "text/plain", b""),
        SeedAttachment("guidelines/index.md", "diagram.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
        SeedAttachment("member-info/toc-members.md", "minutes-archive.pdf", "application/pdf", path=big_file),
    ]


@dataclass
class SyncEnv:
    state: ConfluenceState
    seed: SeedResult
    server: StandinServer
    settings: Settings
    es: Elasticsearch
    embedder: Embedder
    store: SpaceStore

    def client(self, **overrides) -> ConfluenceClient:
        return ConfluenceClient(replace(self.settings.confluence, **overrides), sleep=_short_sleep)

    def runner(self, progress: ProgressHook | None = None, settings: Settings | None = None,
               client: ConfluenceClient | None = None, on_recording=None, workdir: Path | None = None,
               **options) -> SyncRunner:
        s = settings or self.settings
        source = ConfluenceSource(client or self.client(), s.confluence, on_recording=on_recording, workdir=workdir)
        opts = SyncOptions.from_settings(s, **options)
        store = self.store if settings is None else SpaceStore(self.es, s.es)
        return SyncRunner(s, self.es, self.embedder, source, store, progress=progress, options=opts)

    def sync(self, *keys: str, full: bool = False, **kwargs):
        runner = self.runner(**kwargs)
        spaces = [self.store.get_space(k) or SpaceConfig(k) for k in (keys or SPACES)]
        return runner.sync(spaces, full=full)

    # ---- what the index holds -------------------------------------------------------------------

    def chunks(self, settings: Settings | None = None) -> dict[str, dict]:
        """chunk id -> the fields a sync is responsible for (text hashed), for exact state comparisons."""
        s = settings or self.settings
        self.es.indices.refresh(index=s.es.index)
        fields = ["doc_id", "version", "kind", "space", "parent_id", "ancestors", "acl", *LEVEL_FIELDS, "text"]
        out = {}
        query = {"query": {"bool": {"must_not": IS_MARKER}}, "_source": fields}
        for hit in scan(self.es, index=s.es.index, query=query):
            src = hit["_source"]
            src["text"] = hashlib.sha1(src.get("text", "").encode()).hexdigest()
            out[hit["_id"]] = {k: v for k, v in src.items() if v is not None}
        return out

    def markers(self, settings: Settings | None = None) -> dict[str, dict]:
        """doc_id -> its completion marker (version, chunk count, stored access): what "indexed" means."""
        s = settings or self.settings
        self.es.indices.refresh(index=s.es.index)
        hits = scan(self.es, index=s.es.index, query={"query": IS_MARKER})
        return {h["_source"]["doc_id"]: h["_source"] for h in hits}

    def doc_ids(self, settings: Settings | None = None) -> set[str]:
        return {c["doc_id"] for c in self.chunks(settings).values()}

    def visible_doc_ids(self, identities: list[str]) -> set[str]:
        """Documents whose chunks the ACL filter lets these identities see (the filter every search uses)."""
        self.es.indices.refresh(index=self.settings.es.index)
        query = {"query": {"bool": {"filter": acl_filter(identities)}}, "_source": ["doc_id"]}
        return {h["_source"]["doc_id"] for h in scan(self.es, index=self.settings.es.index, query=query)}

    # ---- what Confluence says -------------------------------------------------------------------

    def identities(self, name: str) -> list[str]:
        user = self.state.users[self.seed.users[name]]
        return ["public", f"confluence-user:{user.account_id}", *(f"confluence-group:{g}" for g in user.groups)]

    def exists(self, doc_id: str) -> bool:
        native = doc_id.rsplit(":", 1)[-1]
        return native in (self.state.attachments if ":attachment:" in doc_id else self.state.contents)

    def may_read(self, name: str, doc_id: str) -> bool:
        """The stand-in's own permission rule for the Confluence item behind an indexed document."""
        user = self.state.users[self.seed.users[name]]
        native = doc_id.rsplit(":", 1)[-1]
        if ":attachment:" in doc_id:
            item = self.state.contents[self.state.attachments[native].page_id]
        else:
            item = self.state.contents[native]
        return self.state.can_read(user, item)

    def page_doc(self, wiki_doc_id: str) -> str:
        return f"confluence:page:{self.seed.page_ids[wiki_doc_id]}"


def _short_sleep(seconds: float) -> None:
    """Honour Retry-After for real (the storm test measures it), but never wait long in a test."""
    import time

    time.sleep(min(seconds, 0.5))


@pytest.fixture
def seeded(wiki_subset: Path, shared_data: Path, big_file: Path) -> tuple[ConfluenceState, SeedResult]:
    state = ConfluenceState()
    seed = seed_from_wiki(state, wiki_subset, attachments=attachment_set(big_file),
                          recording=shared_data / "audio" / "jfk.wav")
    return state, seed


@pytest.fixture
def sync_env(seeded, isolated_settings: Settings, es: Elasticsearch, embedder: Embedder) -> Iterator[SyncEnv]:
    with serving(*seeded, isolated_settings, es, embedder) as env:
        yield env


@contextmanager
def serving(state: ConfluenceState, seed: SeedResult, settings: Settings, es: Elasticsearch,
            embedder: Embedder) -> Iterator[SyncEnv]:
    """Serve `state` and configure the sample spaces in `settings`' config index: a SyncEnv while it runs."""
    with serve(state) as server:
        # backoff_cap small: the fault tests retry for real and must stay fast
        conf = server.settings(backoff_cap=0.5)
        settings = replace(settings, confluence=conf)
        store = SpaceStore(es, settings.es)
        for key in SPACES:
            store.add_space(SpaceConfig(key))
        yield SyncEnv(state, seed, server, settings, es, embedder, store)


@pytest.fixture
def second_index(sync_env: SyncEnv) -> Callable[[], Settings]:
    """Settings for another throw-away index + config index (cleaned up with the first: same name prefix)."""

    def make(suffix: str = "b") -> Settings:
        es_settings = sync_env.settings.es
        return replace(sync_env.settings, es=replace(es_settings, index=f"{es_settings.index}-{suffix}",
                                                      config_index=f"{es_settings.config_index}-{suffix}"))

    return make
