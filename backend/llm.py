"""The one thin module that speaks to the LLM server: OpenAI-compatible `/v1/chat/completions`.

TGI, vLLM and `python -m llama_cpp.server` all serve it; `huggingface_hub.InferenceClient` is the client.
Failures leave as `ServiceUnavailable` (down, busy) or `LLMError` (refused, too slow, bad output), never
as `httpx2` or `huggingface_hub` exceptions. Token counts are estimates (see `estimate_tokens`).
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import httpx2  # huggingface_hub's HTTP library: its connection errors reach us untranslated
import requests
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, OfflineModeIsEnabled

from backend.errors import ConfigError, LLMError, LoreError, ServiceUnavailable, redact_url
from backend.settings import LLMSettings

log = logging.getLogger(__name__)

START_HINT = "Start it with `bash infra/local/llm.sh start` or set LORE_LLM_URL."
FALLBACK_CONTEXT_WINDOW = 4096  # tokens; llama_cpp.server does not report n_ctx, 4096 is what llm.sh serves
# Measured with the Qwen2.5 tokenizer (/extras/tokenize/count) over every 25th page of the Hyperledger
# wiki: 3.45 characters a token overall, 2.3 for pages of raw HTML. 3.0 over-counts ordinary prose a
# little so that a prompt built to the budget fits; the server's "context length exceeded" is the backstop.
CHARS_PER_TOKEN = 3.0
RETRY_STATUSES = (429, 503)  # busy or still loading: worth another try; everything else is final
BACKOFF_SECONDS = 0.5  # first wait; doubled per try, capped by MAX_BACKOFF and the answer's deadline
MAX_BACKOFF = 4.0
PROBE_TIMEOUT = 3.0  # seconds for the /info, /props probes: a local server answers in milliseconds
# a placeholder bearer when no key is configured: with an empty key huggingface_hub would send the
# developer's own Hugging Face token (HF_TOKEN or `hf auth login`) to whatever server LORE_LLM_URL names
NO_KEY = "lore-no-key"

_CONTEXT_RE = re.compile(r"maximum context length is (\d+) tokens", re.I)


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (see CHARS_PER_TOKEN); exact counts would cost a request per chunk."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


class Deadline:
    """A point in time by which a whole answer must be done (several LLM calls share one deadline)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


class ContextTooLong(LLMError):
    """The prompt plus max_tokens exceeds the server's context window; `window` is the server's figure."""

    code = "context_length_exceeded"
    http_status = 400

    def __init__(self, message: str, window: int | None):
        super().__init__(message)
        self.window = window


class NoOutput(LLMError):
    """The server closed the stream without a single choice: llama_cpp.server's answer to an over-long
    prompt, and to a request it dropped because another one arrived (its `interrupt_requests`)."""

    code = "llm_no_output"


class Incomplete(LLMError):
    """The stream stopped mid-answer without a finish reason (server dropped it); the text so far was yielded."""

    code = "llm_incomplete"


class LLMTimeout(LLMError):
    code = "llm_timeout"
    retryable = True
    http_status = 504


@dataclass(frozen=True)
class Limits:
    """What the server accepts: the whole window (prompt + answer) and, where it says, the prompt alone."""

    context_window: int
    max_input_tokens: int | None = None
    source: str = "fallback"  # setting | tgi | llama.cpp | error | fallback


class LLMClient:
    """`chat()` returns the whole reply, `stream()` yields text deltas; both retry only busy/unreachable."""

    def __init__(self, settings: LLMSettings, *, sleep=time.sleep):
        self.settings = settings
        self.url = _root(settings.url)
        self._sleep = sleep
        self._limits: Limits | None = None
        self._lock = threading.Lock()

    # ---- chat ---------------------------------------------------------------------------------

    def chat(self, messages: Sequence[dict], *, max_tokens: int | None = None, temperature: float | None = None,
             stop: Sequence[str] | None = None, seed: int | None = None, deadline: Deadline | None = None,
             response_format: dict | None = None) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, seed=seed,
                                   deadline=deadline, response_format=response_format))

    def stream(self, messages: Sequence[dict], *, max_tokens: int | None = None, temperature: float | None = None,
               stop: Sequence[str] | None = None, seed: int | None = None,
               deadline: Deadline | None = None, response_format: dict | None = None) -> Iterator[str]:
        """Yield the reply's text deltas. Raises before the first delta, or mid-way when the deadline passes.
        `response_format`: passed through as the server's structured-output request (see `json_format`)."""
        deadline = deadline or Deadline(self.settings.timeout)
        params = {
            "model": self.settings.model,
            "max_tokens": max_tokens or self.settings.max_tokens,
            "temperature": self.settings.temperature if temperature is None else temperature,
            "stop": list(stop) if stop else None,
            "seed": seed,
        }
        if response_format is not None:
            params["response_format"] = response_format
        pump = _Pump(self, list(messages), params, deadline)
        pump.start()
        answered = False
        finished: str | None = None
        try:
            while True:
                try:
                    # the deadline holds even while one read blocks (a long prompt before the first token)
                    kind, value = pump.queue.get(timeout=max(deadline.remaining(), 0.0))
                except queue.Empty:
                    raise self._timeout(deadline) from None
                if kind == "end":
                    break
                if kind == "error":
                    raise self._stream_error(value, deadline) from value
                if not value.choices:
                    continue
                answered = True
                finished = value.choices[0].finish_reason or finished
                delta = value.choices[0].delta.content
                if delta:
                    yield delta
        finally:
            pump.stop()
        if not answered:
            # llama_cpp.server answers a prompt longer than its window with HTTP 200 and an empty stream
            raise NoOutput(f"The LLM server at {self.url} ended the answer without any output: the prompt may "
                           "exceed its context window (LORE_LLM_CONTEXT_WINDOW), or the server dropped the request "
                           "for another one.")
        if finished is None:
            # TGI, vLLM and llama.cpp end every complete answer with a finish reason ("stop", "length")
            raise Incomplete(f"The LLM server at {self.url} stopped in the middle of the answer.")

    def _stream_error(self, exc: BaseException, deadline: Deadline) -> Exception:
        if isinstance(exc, LoreError):  # already translated in _open
            return exc
        if isinstance(exc, httpx2.TimeoutException | InferenceTimeoutError):
            return self._timeout(deadline)
        if isinstance(exc, httpx2.HTTPError | HfHubHTTPError | ValueError):  # broken stream, error event, bad JSON
            return LLMError(f"The LLM server at {self.url} broke off its answer ({_short(exc)}).")
        return LLMError(f"The LLM server at {self.url} failed: {_short(exc)}.")

    def _open(self, messages: list[dict], params: dict, deadline: Deadline, pump: _Pump):
        """The client and its chunk iterator, after retrying busy/unreachable; runs in the pump's thread."""
        attempt = 0
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise self._timeout(deadline)
            # one client per call: InferenceClient keeps every streamed response in an ExitStack until
            # close(), so a long-lived client would hoard them; the connection pool is shared underneath
            client = InferenceClient(base_url=self.url, timeout=remaining, api_key=self.settings.api_key or NO_KEY)
            if not pump.hold(client):
                raise LLMError("The answer was abandoned.")
            try:
                return iter(client.chat_completion(messages, stream=True, **params))
            except Exception as exc:  # noqa: BLE001 - translated below, nothing escapes untranslated
                client.close()
                err = self._translate(exc, deadline)
            if not err.retryable or attempt >= self.settings.retries or isinstance(err, LLMTimeout):
                raise err
            wait = min(BACKOFF_SECONDS * 2 ** attempt, MAX_BACKOFF, max(deadline.remaining() - 1.0, 0.0))
            if wait <= 0:
                raise err
            attempt += 1
            log.info("LLM server not ready (%s); retry %d in %.1fs", err.code, attempt, wait)
            self._sleep(wait)

    def _translate(self, exc: Exception, deadline: Deadline) -> Exception:
        if isinstance(exc, OfflineModeIsEnabled):
            # huggingface_hub's offline switch blocks every request of its client, our own server's too
            return ConfigError("HF_HUB_OFFLINE=1 stops huggingface_hub from calling the LLM server at "
                               f"{self.url} as well: unset HF_HUB_OFFLINE for Lore (its models load from local "
                               "folders and never need the hub).")
        if isinstance(exc, (httpx2.TimeoutException, InferenceTimeoutError)):
            return self._timeout(deadline)
        if isinstance(exc, httpx2.ConnectError):
            return ServiceUnavailable("LLM server", self.url, "connection refused", START_HINT)
        if isinstance(exc, HfHubHTTPError) and exc.response is not None:
            status = exc.response.status_code
            body = _body(exc.response)
            if status in RETRY_STATUSES:
                return ServiceUnavailable("LLM server", self.url, f"busy: HTTP {status}", START_HINT)
            match = _CONTEXT_RE.search(body)
            if match or "context_length_exceeded" in body or "must have less than" in body:
                window = int(match.group(1)) if match else None
                if window:
                    self._learn_window(window)
                return ContextTooLong(f"The prompt does not fit the model's context window ({body[:200]}).", window)
            return LLMError(f"The LLM server at {self.url} refused the request (HTTP {status}: {body[:300]}).")
        if isinstance(exc, httpx2.HTTPError):
            return ServiceUnavailable("LLM server", self.url, _short(exc), START_HINT)
        return LLMError(f"The LLM server at {self.url} failed: {_short(exc)}.")

    def _timeout(self, deadline: Deadline) -> LLMTimeout:
        return LLMTimeout(f"The LLM server at {self.url} did not finish within {deadline.seconds:g} s "
                          "(LORE_LLM_TIMEOUT).")

    # ---- limits -------------------------------------------------------------------------------

    def limits(self) -> Limits:
        """The server's context limits: the setting when > 0, else asked once (TGI /info, llama.cpp /props)."""
        with self._lock:
            if self._limits is None:
                self._limits = self._probe_limits()
            return self._limits

    def context_window(self) -> int:
        return self.limits().context_window

    def prompt_budget(self, max_tokens: int) -> int:
        """Tokens a prompt may use when `max_tokens` are kept for the answer."""
        lim = self.limits()
        budget = lim.context_window - max_tokens
        if lim.max_input_tokens:
            budget = min(budget, lim.max_input_tokens)
        return max(budget, 0)

    def json_format(self, schema: dict) -> dict:
        """The `response_format` that makes this server answer JSON matching `schema`: TGI takes
        {"type": "json", "value": schema}; llama.cpp (llama-server and llama_cpp.server) takes a schema beside
        "json_object" and turns it into a grammar; others at least get JSON mode. Callers validate anyway."""
        if self.limits().source == "tgi":
            return {"type": "json", "value": schema}
        return {"type": "json_object", "schema": schema}

    def _probe_limits(self) -> Limits:
        if self.settings.context_window > 0:
            return Limits(self.settings.context_window, source="setting")
        info = self._get_json("/info")  # TGI
        if info and info.get("max_total_tokens"):
            return Limits(int(info["max_total_tokens"]), int(info.get("max_input_tokens") or 0) or None, "tgi")
        props = self._get_json("/props")  # llama.cpp's own server (llama-server)
        n_ctx = (props or {}).get("default_generation_settings", {}).get("n_ctx")
        if n_ctx:
            return Limits(int(n_ctx), source="llama.cpp")
        # llama_cpp.server (Python) reports no n_ctx; the first "context length exceeded" corrects this
        log.info("LLM server at %s does not report its context window; assuming %d tokens "
                 "(set LORE_LLM_CONTEXT_WINDOW)", redact_url(self.url), FALLBACK_CONTEXT_WINDOW)
        return Limits(FALLBACK_CONTEXT_WINDOW)

    def _learn_window(self, window: int) -> None:
        with self._lock:
            if self.settings.context_window <= 0:
                self._limits = Limits(window, source="error")

    def _get_json(self, path: str) -> dict | None:
        try:
            resp = requests.get(self.url + path, timeout=PROBE_TIMEOUT, headers=self._auth())
        except requests.RequestException:
            return None
        if resp.status_code != 200:
            return None
        try:
            body = resp.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}

    # ---- health -------------------------------------------------------------------------------

    def health(self) -> dict:
        """{"ok": bool, "detail": str} from GET /v1/models (TGI, vLLM and llama.cpp all serve it)."""
        shown = redact_url(self.url)  # the detail is logged: no user:password from LORE_LLM_URL
        try:
            resp = requests.get(self.url + "/v1/models", timeout=PROBE_TIMEOUT, headers=self._auth())
        except requests.RequestException as exc:
            return {"ok": False, "detail": f"not reachable at {shown} ({type(exc).__name__})"}
        if resp.status_code != 200:
            return {"ok": False, "detail": f"{shown}/v1/models answered HTTP {resp.status_code}"}
        return {"ok": True, "detail": shown}


def _root(url: str) -> str:
    """The server root: InferenceClient appends /v1/chat/completions itself."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _body(response) -> str:
    try:
        return response.text or ""
    except Exception:  # noqa: BLE001 - a streamed body may be unreadable; the status says enough
        return ""


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]


class _Pump(threading.Thread):
    """Reads the HTTP stream in its own thread, so the caller can give up at the deadline mid-read."""

    def __init__(self, llm: LLMClient, messages: list[dict], params: dict, deadline: Deadline):
        super().__init__(name="lore-llm-stream", daemon=True)
        self.queue: queue.Queue = queue.Queue()
        self._args = (messages, params, deadline)
        self._llm = llm
        self._lock = threading.Lock()
        self._client: InferenceClient | None = None
        self._stopped = False

    def hold(self, client: InferenceClient) -> bool:
        with self._lock:
            self._client = client
            return not self._stopped

    def run(self) -> None:
        try:
            for chunk in self._llm._open(*self._args, pump=self):
                if self._stopped:
                    return
                self.queue.put(("chunk", chunk))
            self.queue.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which translates it
            if not self._stopped:
                self.queue.put(("error", exc))
        finally:
            self.stop()

    def stop(self) -> None:
        """Close the HTTP response (unblocking a pending read); idempotent, callable from any thread."""
        with self._lock:
            self._stopped = True
            client, self._client = self._client, None
        if client is not None:
            client.close()
