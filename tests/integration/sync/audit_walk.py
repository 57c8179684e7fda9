"""The permission audit's random walk: one random change, a sync, then what several readers can find.

Readers are checked three ways after every step: the full set of documents the search's ACL filter lets
them see (a scan with `backend.acl.acl_filter`, like SyncEnv.visible_doc_ids), `/api/search` for a few
titles and phrases (some from pages they may NOT read), and on some steps `/api/ask` with the LLM down
(it then answers with sources only, in milliseconds). Everything goes through the real Flask app, its
service token and `X-Lore-User-Email`, so the asker's groups come from the stand-in's directory.

Used by tests/integration/sync/test_permission_audit.py (a short walk) and bench/permission_audit.py.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from elasticsearch.helpers import scan
from flask.testing import FlaskClient

from backend.acl import acl_filter
from backend.api import create_app
from backend.documents import PUBLIC
from backend.settings import LLMSettings, Settings
from tests.integration.answer_corpus import closed_port_url
from tests.integration.sync.audit_changes import PEOPLE, Change, Changer, make_sync_account_ordinary
from tests.integration.sync.audit_oracle import Oracle, Reader, Tally, readers
from tests.integration.sync.conftest import BIG_FILE_BYTES, SPACES, SyncEnv, attachment_set, write_wiki_subset
from tests.standins.confluence_seed import SeedResult, seed_from_wiki
from tests.standins.confluence_state import ConfluenceState

SERVICE_TOKEN = "audit-service-token"
ADMIN_TOKEN = "audit-admin-token"
SEARCH_K = 20  # results per search: more than a person reads, so a leak ranked low is still caught
_TAGS = re.compile(r"<[^>]+>")
# Words per page: the audit is about who sees which page, not about long texts; one short chunk per page
# keeps the first full sync (the embedding model on 2 shared cores) to seconds.
AUDIT_WORDS = 60


def audit_wiki(shared_data: Path, tmp: Path) -> tuple[ConfluenceState, SeedResult]:
    """The stand-in of the sync tests (same pages, attachments and recording), with shorter page texts."""
    subset = write_wiki_subset(shared_data, tmp / "audit-subset.jsonl", words=AUDIT_WORDS)
    big = tmp / "archive.pdf"
    with big.open("wb") as f:
        f.truncate(BIG_FILE_BYTES)  # sparse: declared big, costs no disk
    state = ConfluenceState()
    seed = seed_from_wiki(state, subset, attachments=attachment_set(big), recording=shared_data / "audio" / "jfk.wav")
    return state, seed


def audit_settings(settings: Settings, llm: LLMSettings | None = None) -> Settings:
    """The API's settings for the audit: its tokens, `llm` (default: a closed port, so that /api/ask answers
    with sources only, at once) and no identity cache."""
    llm = llm or replace(settings.llm, url=closed_port_url(), retries=0,
                         context_window=settings.llm.context_window or 2048)  # a window: no probe of a server
    # identity_cache_seconds=0: a reader's groups are looked up on every request, so a group change made in
    # a step applies to the very next check. With the default cache (600 s) a former member would keep the
    # group's pages for up to ten minutes: a documented delay of the resolver, not what this audit measures.
    api = replace(settings.api, api_tokens=SERVICE_TOKEN, admin_token=ADMIN_TOKEN, identity_cache_seconds=0)
    return replace(settings, llm=llm, api=api)


class Audit:
    def __init__(self, env: SyncEnv, seed: int, full_every: int = 5, queries: int = 2, ask_every: int = 2,
                 log: Callable[[str], None] | None = None, llm: LLMSettings | None = None,
                 kinds: Iterable[str] | None = None):
        self.env = env
        self.seed = seed
        self.full_every = full_every
        self.queries = queries
        self.ask_every = ask_every
        self.log = log or (lambda _line: None)
        make_sync_account_ordinary(env.state)
        self.settings = audit_settings(env.settings, llm)
        # es and the embedding model are shared with the sync (loading the model twice costs seconds);
        # the identity resolver, searcher and answerer are built by the app from its settings
        self.app = create_app(self.settings, services={"es": env.es, "embedder": env.embedder})
        self.app.testing = True
        self.http: FlaskClient = self.app.test_client()
        # two generators: the walk of changes replays from the seed whatever the checks draw
        self.rng = random.Random(f"queries-{seed}")
        self.changer = Changer(env.state, env.seed.users, list(SPACES), random.Random(seed), self.put_spaces,
                               kinds)
        self.oracle = Oracle(env.state, lambda: self.changer.lore_spaces, self._skipped)
        self.readers = readers(env.seed.users, PEOPLE)
        self.tally = Tally()
        self.reports: list[str] = []

    # ---- the walk ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Lore is told its spaces through the admin API, syncs them in full, and is checked once."""
        self.put_spaces([{"key": k} for k in SPACES])
        self.sync(full=True)
        self.check(0, Change("initial", "initial full sync"), after_full=True)

    def run(self, steps: int) -> Tally:
        self.start()
        for n in range(1, steps + 1):
            self.step(n)
        return self.tally

    def step(self, n: int) -> None:
        change = self.changer.step()
        before = len(self.tally.leaks)
        if change.admin:  # Lore's own configuration: due at once, not at the next sync
            self.check(n, change, after_full=False, at_once=True)
        full = n % self.full_every == 0
        self.sync(full)
        self.check(n, change, after_full=full, asks=n % self.ask_every == 0)
        self.tally.steps += 1
        self.log(f"step {n:>4} {'full' if full else 'incr'} {change.text}: {len(self.tally.leaks) - before} new "
                 f"leaks, {len(self.tally.open)} open ({self.reports[-1]})")

    def sync(self, full: bool) -> None:
        report = self.env.runner().sync_all(full=full)
        self.tally.syncs += 1
        self.tally.full_syncs += int(full)
        self.reports.append(", ".join(f"{r.space} {r.status}" for r in report.spaces) or "no spaces")

    def put_spaces(self, spaces: list[dict]) -> None:
        resp = self.http.put("/api/admin/spaces", json=spaces, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert resp.status_code == 200, resp.get_json()

    # ---- the checks -------------------------------------------------------------------------------

    def check(self, n: int, change: Change, after_full: bool, at_once: bool = False, asks: bool = False) -> None:
        self.env.es.indices.refresh(index=self.settings.es.index)
        for reader in self.readers:
            visible = self.visible(reader)
            self.tally.scans += 1
            bad = {d for d in visible if self._judge(n, change, "scan-now" if at_once else "scan", reader, d)}
            self.tally.settle(reader.name, bad)
            if at_once:
                continue
            self._misses(n, reader, visible, after_full)
            for query in self._queries(reader):
                self.tally.searches += 1
                for doc_id in self.search(reader, query):
                    self._judge(n, change, "search", reader, doc_id)
            if asks:
                self.tally.asks += 1
                for doc_id in self.ask(reader, self._queries(reader, 1)[0]):
                    self._judge(n, change, "ask", reader, doc_id)

    def _judge(self, n: int, change: Change, channel: str, reader: Reader, doc_id: str) -> bool:
        """True (and recorded) when `reader` should not have been shown `doc_id`."""
        verdict = self.oracle.verdict(reader, doc_id)
        if verdict != "ok":
            self.tally.sighted(n, change.kind, change.text, channel, reader.name, doc_id, verdict)
        return verdict != "ok"

    def _misses(self, n: int, reader: Reader, visible: set[str], after_full: bool) -> None:
        missing = self.oracle.expected(reader) - visible
        documented = {d for d in missing if self.oracle.too_deep(d)}
        missing -= documented
        self.tally.documented_misses += len(documented)
        self.tally.misses += len(missing)
        if after_full and missing:
            self.tally.misses_after_full += len(missing)
            self.tally.miss_examples += [f"step {n}: {reader.name} misses {d}"
                                         for d in sorted(missing)[:3]]

    def _skipped(self) -> set[str]:
        return {d for key in SPACES for d in self.env.store.get_state(key).skips}

    def _queries(self, reader: Reader, count: int | None = None) -> list[str]:
        """Titles and phrases of random documents, half of them from documents this reader may not read."""
        docs = self.oracle.documents()
        ids = sorted(docs)
        forbidden = [d for d in ids if self.oracle.verdict(reader, d) != "ok"]
        out = []
        for _ in range(count or self.queries):
            pool = forbidden if forbidden and self.rng.random() < 0.5 else ids
            item = docs[self.rng.choice(pool)]
            words = _TAGS.sub(" ", item.body).split()
            if self.rng.random() < 0.5 or len(words) < 8:
                out.append(item.title)
            else:
                start = self.rng.randrange(0, len(words) - 6)
                out.append(" ".join(words[start:start + 6]))
        return out

    # ---- the reader's view ------------------------------------------------------------------------

    def identities(self, reader: Reader) -> list[str]:
        """What the API resolves this reader to (the same resolver /api/search uses)."""
        return self.app.extensions["lore"].identity.resolve(reader.email) if reader.email else [PUBLIC]

    def visible(self, reader: Reader) -> set[str]:
        query = {"query": {"bool": {"filter": acl_filter(self.identities(reader))}}, "_source": ["doc_id"]}
        return {h["_source"]["doc_id"] for h in scan(self.env.es, index=self.settings.es.index, query=query)}

    def _headers(self, reader: Reader) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        if reader.email:
            headers["X-Lore-User-Email"] = reader.email
        return headers

    def search(self, reader: Reader, query: str) -> list[str]:
        resp = self.http.get("/api/search", query_string={"q": query, "k": SEARCH_K}, headers=self._headers(reader))
        assert resp.status_code == 200, resp.get_json()
        return [r["doc_id"] for r in resp.get_json()["results"]]

    def ask(self, reader: Reader, question: str) -> list[str]:
        answer = self.answer(reader, question)
        return [s["doc_id"] for s in answer["sources"]] + [c["doc_id"] for c in answer["citations"]]

    def answer(self, reader: Reader, question: str, history: list[dict] | None = None) -> dict:
        body = {"question": question, **({"history": history} if history else {})}
        resp = self.http.post("/api/ask", json=body, headers=self._headers(reader))
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def reader(self, name: str) -> Reader:
        return next(r for r in self.readers if r.name == name)

    # ---- reporting --------------------------------------------------------------------------------

    def leak_report(self, examples: int = 2) -> list[str]:
        lines = []
        for kind, row in sorted(self.tally.by_step_kind().items()):
            lines.append(f"  first seen after {kind}: " + ", ".join(f"{v} {k}" for k, v in sorted(row.items())))
            for leak in [x for x in self.tally.leaks if x.kind == kind][:examples]:
                lines.append(f"    e.g. step {leak.step} ({leak.change}): {leak.reader} could find {leak.doc_id} "
                             f"[{'/'.join(sorted(leak.verdicts))}, via {leak.channel}, until step {leak.last_step}]")
        return lines
