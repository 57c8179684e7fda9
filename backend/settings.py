"""One `Settings` object, read from the environment (and `.env`) once per entry point, then passed down.

Every setting is documented in `.env.example`; the field names below are the variable names without the
`LORE_` prefix, lower-cased. Components take the narrowest section they need (`settings.es`, ...).
Nothing below an entry point reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.errors import ConfigError

PREFIX = "LORE_"


@dataclass(frozen=True)
class ElasticSettings:
    url: str = "http://127.0.0.1:9200"
    index: str = "lore-chunks"  # the alias every reader and writer uses; real indices are <alias>-v<N>
    config_index: str = "lore-config"  # small index holding spaces, cursors and sync reports
    feedback_index: str = "lore-feedback"  # answers given in Slack and the votes on them (backend/feedback.py)
    # "auto" picks `english` when the server has analysis-common, else the built-in-only custom analyzer
    analyzer: str = "auto"
    shards: int = 1
    replicas: int = 0  # a single-node default; set 1+ on a cluster
    request_timeout: float = 30.0
    bulk_chunk_size: int = 200  # actions per bulk request: ~200 chunks x 384 floats stays well under 10 MB
    # credentials for a secured cluster: username + password (basic auth) or an API key (the base64
    # "id:key" that Kibana shows); kept out of `url` so no message or log can repeat them
    username: str = ""
    password: str = ""
    api_key: str = ""


@dataclass(frozen=True)
class EmbedSettings:
    # a packaged name (all-MiniLM-L6-v2, all-mpnet-base-v2), a local folder, or a hub id when connected
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 32
    torch_threads: int = 1  # measured: 1 thread beat 2 on the 2-vCPU VMs (bench/embed_threads.py)
    device: str = "cpu"
    max_seq_length: int = 256


@dataclass(frozen=True)
class ChunkSettings:
    words: int = 200
    overlap: int = 40
    max_document_chars: int = 5_000_000  # larger bodies are truncated (with a note in the report)


@dataclass(frozen=True)
class SearchSettings:
    k: int = 10
    candidates: int = 50  # per leg, before fusion
    rrf_k: int = 60  # the constant from Cormack et al. (2009), also Elasticsearch's default
    title_boost: float = 2.0
    num_candidates: int = 100  # kNN candidates per shard


@dataclass(frozen=True)
class LLMSettings:
    url: str = "http://127.0.0.1:8080"
    model: str = "lore-local"  # model name sent to the server (TGI ignores it; llama.cpp uses the alias)
    api_key: str = ""
    temperature: float = 0.1
    max_tokens: int = 384
    timeout: float = 60.0  # seconds for a whole answer; past it the user gets sources only
    retries: int = 2
    context_window: int = 0  # 0: ask the server (/v1/models, /info), else this many tokens
    # the local server: which packaged GGUF to serve (see infra/local/llm.sh)
    local_gguf: str = "qwen2.5-0.5b"


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are built (backend/answers): the retrieval gate, context size, question limits."""

    # Retrieval gate (pipeline.confident): below this cosine similarity of the best dense hit the model is
    # not asked. Measured with all-MiniLM-L6-v2 on 150 Hyperledger wiki pages: answerable questions'
    # best hit 0.32-0.78, off-topic questions (VPN, lasagna, World Cup) 0.12-0.27, a few office
    # questions 0.36-0.42 (those reach the model, which declines). 0.28 keeps every answerable one.
    min_similarity: float = 0.28
    # ... and when BM25 finds no shared word at all ("asdf qwerty": 0.34), the dense hit must be this close
    min_similarity_no_keywords: float = 0.45
    max_sources: int = 5  # pages given to the model; more dilutes a small model's attention
    max_passages_per_source: int = 3  # passages (chunks) per page
    candidates: int = 30  # chunk hits per search leg considered for the context
    max_question_chars: int = 2000  # longer questions are cut (with a notice) for retrieval and prompt
    max_tokens: int = 0  # answer tokens; 0: LLMSettings.max_tokens
    rewrite_max_tokens: int = 48  # a standalone search query is one short line
    prompt_overhead_tokens: int = 64  # chat-template tokens around each message that the estimate misses
    seed: int = 42  # fixed seed: the same question on the same pages gives the same answer


@dataclass(frozen=True)
class ConfluenceSettings:
    url: str = ""  # https://<site>.atlassian.net/wiki or https://confluence.example.com
    email: str = ""  # Cloud: with api_token (Basic auth)
    api_token: str = ""
    pat: str = ""  # Data Center: personal access token (Bearer)
    cloud: str = "auto"  # auto | true | false
    page_size: int = 50
    timeout: float = 30.0
    max_retries: int = 6
    backoff_cap: float = 60.0  # never sleep longer than this between two tries
    attachment_max_bytes: int = 20_000_000  # text extraction cap; recordings have their own path
    recording_max_bytes: int = 2_000_000_000
    overlap_minutes: int = 10  # incremental sync re-reads this window before the cursor
    workers: int = 4  # parallel fetches of page bodies / attachments
    sync_batch_size: int = 25  # pages indexed between two checkpoints of the cursor
    # an incremental sync turns into a full pass (comments/attachments re-listed, then pruned) this often
    full_sync_hours: float = 24.0
    # seconds one item may spend turning into text (a page's storage body, a comment, an attachment's extraction);
    # past it the item is skipped with the reason and not tried again until it changes. Measured on the 2-core
    # dev box: a 1 MB page converts in 0.2 s and the pathological 2 MB bodies of tests/unit in under 2 s; attachments
    # are extracted in a child process (0.2 s to start), and the slowest we measured, a 600-page PDF read up to the
    # 2M-character text cap, took 4 s (a 200k-cell workbook 2.5 s). 120 s is ~30x that, for a loaded box and heavy
    # real PDFs, while a parser that hangs costs a sync worker at most two minutes, once per item version.
    item_seconds: float = 120.0
    # one sync per space at a time: a sync holds a lease this long, renewed every third of it while it runs;
    # a sync that died frees its space after at most this long (backend/locks.py)
    sync_lock_seconds: float = 120.0


@dataclass(frozen=True)
class ApiSettings:
    admin_token: str = ""
    api_tokens: str = ""  # comma-separated service tokens for /api/*
    identity_cache_seconds: int = 600
    # SSE comment sent while no event is due (the model reading a long prompt): proxies and clients drop
    # connections that stay silent, often after 60 s; 0 turns it off
    sse_keepalive_seconds: float = 15.0


@dataclass(frozen=True)
class Settings:
    es: ElasticSettings = field(default_factory=ElasticSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    minutes_summary: MinutesSummarySettings = field(default_factory=lambda: MinutesSummarySettings())  # end of file
    confluence: ConfluenceSettings = field(default_factory=ConfluenceSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    slack: SlackSettings = field(default_factory=lambda: SlackSettings())  # defined at the end of the file
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_dir: str = str(Path.home() / ".cache" / "lore")  # assembled models, wheels, downloads
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> Settings:
        """Build settings from `LORE_*` variables; a `.env` file fills what the environment lacks."""
        values: dict[str, str] = {}
        if dotenv and Path(dotenv).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)
        built = _build(cls, values, PREFIX)
        return built.replace(cache_dir=os.path.expanduser(built.cache_dir))

    def replace(self, **changes: Any) -> Settings:
        from dataclasses import replace

        return replace(self, **changes)


def _build(cls: type, values: Mapping[str, str], prefix: str) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.default_factory is not MISSING:  # a section: LORE_<SECTION>_<FIELD>
            kwargs[f.name] = _build(type(f.default_factory()), values, f"{prefix}{f.name.upper()}_")
            continue
        name = f"{prefix}{f.name.upper()}"
        if name not in values:
            continue
        raw, default = values[name], f.default
        try:
            if isinstance(default, bool):
                kwargs[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                kwargs[f.name] = int(raw)
            elif isinstance(default, float):
                kwargs[f.name] = float(raw)
            else:
                kwargs[f.name] = raw
        except ValueError as exc:
            raise ConfigError(f"Setting {name}={raw!r} is not a valid {type(default).__name__}.") from exc
    return cls(**kwargs)


@dataclass(frozen=True)
class SlackSettings:
    """The Slack bot (bot/): credentials, where the Web API is, and how many questions it answers at once."""

    signing_secret: str = ""  # Basic Information > App Credentials; verifies every HTTP request from Slack
    bot_token: str = ""  # xoxb-...: OAuth & Permissions > Bot User OAuth Token
    app_token: str = ""  # xapp-... with connections:write: set it and `python -m bot` runs in Socket Mode
    api_url: str = "https://slack.com/api/"  # the Web API base URL (a stand-in in tests, a proxy air-gapped)
    host: str = "127.0.0.1"  # where `python -m bot` listens in HTTP mode
    port: int = 3000  # bolt's customary port
    workers: int = 2  # questions answered at the same time; the LLM server is the bottleneck, not Slack
    queue_size: int = 50  # questions waiting for a worker; beyond it the asker is told to try again
    timeout: float = 10.0  # seconds per Slack Web API / response_url call
    max_retries: int = 3  # retries of a call answered 429 (after Retry-After) or cut off by the network
    email_cache_seconds: int = 600  # users.info answers (Slack user -> email) are kept this long


@dataclass(frozen=True)
class MinutesSummarySettings:
    """How a transcript becomes minutes (backend/minutes/summarize.py): LLM call sizes and limits."""

    # answer tokens per window's notes (JSON): 0.5B-1.5B models write ~250-400 tokens of notes for a
    # 3k-token window; 512 leaves room without shrinking the window much in a 4k context
    max_tokens: int = 512
    summary_max_tokens: int = 256  # the final summary written from the windows' summaries
    # transcript tokens per window; 0: as many as fit the model's context next to the prompt and answer
    window_tokens: int = 0
    # seconds per LLM call: a 3k-token prompt on a loaded 2-core CPU takes 30-90 s with the 0.5B model;
    # past it that window falls back to extractive notes, while a server that is down fails at once
    call_timeout: float = 300.0
    max_items: int = 12  # per list (decisions, action items, topics, open questions) on the page
    # ask for the notes with a JSON schema (response_format) where the server takes one. Off: JSON asked for in
    # words only, still validated. Seen on the loaded 2-core dev box: llama_cpp.server sampled 1.2 tokens/s under
    # the notes grammar and up to 7 without one in the same hour; a CPU deployment may trade the grammar for speed.
    structured: bool = True
