"""Verifies the Forge Invocation Token (FIT) that Forge Remote puts on every call from the Confluence macro.

The FIT is an RS256 JWT signed by Atlassian (issuer `forge/invocation-token`, audience = our app's ARI), with
the viewing user's accountId in `principal` (REFERENCE.md, "The Confluence macro"). Only RS256 is accepted,
whatever the token's header says, so neither `alg: none` nor an HS256 token keyed with the public key passes.
The JWKS is cached; an unknown `kid` re-reads it (Atlassian rotated its keys), at most once per
`forge_jwks_refresh_seconds`, so a stream of forged key ids cannot turn us into a JWKS-fetching loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from backend.errors import NotAllowed, ServiceUnavailable
from backend.settings import MacroSettings

log = logging.getLogger(__name__)

ISSUER = "forge/invocation-token"
ALGORITHM = "RS256"  # the one algorithm Atlassian signs FITs with; everything else is refused before any key use
APP_ARI_PREFIX = "ari:cloud:ecosystem::app/"
MAX_TOKEN_CHARS = 16_384  # a FIT is ~1-2 kB; a bigger "token" is not one, and is not parsed


@dataclass(frozen=True)
class Invocation:
    """Who called, as the verified token says."""

    account_id: str | None  # the viewing user; None for an anonymous viewer (they see public pages only)
    app_id: str
    cloud_id: str = ""
    installation_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, repr=False)


class JwksCache:
    """Atlassian's signing keys by `kid`: fetched on first use, re-read when stale or when a `kid` is unknown."""

    def __init__(self, settings: MacroSettings, session: requests.Session | None = None,
                 *, clock: Callable[[], float] = time.monotonic):
        self.url = settings.forge_jwks_url
        self.refresh_s = settings.forge_jwks_refresh_seconds
        self.max_age_s = settings.forge_jwks_cache_seconds
        self.timeout = settings.forge_jwks_timeout
        self.session = session or requests.Session()
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # JWKS downloads made (tests and the admin page)

    def key(self, kid: str) -> Any | None:
        """The public key for `kid`, re-reading the set once if it is unknown (and the last read is not too recent)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.max_age_s
            unknown = kid not in self._keys
            may_refresh = self._fetched_at is None or now - self._fetched_at >= self.refresh_s
            if stale or (unknown and may_refresh):
                self._fetch(now)
            return self._keys.get(kid)

    def _fetch(self, now: float) -> None:
        self.fetches += 1
        try:
            resp = self.session.get(self.url, timeout=self.timeout)
            resp.raise_for_status()
            jwks = resp.json()
        except (requests.RequestException, ValueError) as exc:
            if self._keys:  # keep serving the keys we have; try again after the refresh interval
                self._fetched_at = now
                log.warning("could not refresh the Forge JWKS; keeping the cached keys", extra={"error": str(exc)})
                return
            raise ServiceUnavailable("Atlassian's Forge key set (JWKS)", self.url, type(exc).__name__,
                                     "Check that the server reaches it, or set LORE_MACRO_FORGE_JWKS_URL.") from exc
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if jwk.get("kty") != "RSA" or not jwk.get("kid") or jwk.get("use", "sig") != "sig":
                continue  # only RSA signing keys can verify an RS256 token
            try:
                keys[jwk["kid"]] = jwt.PyJWK.from_dict(jwk, algorithm=ALGORITHM).key
            except jwt.PyJWTError:
                log.warning("skipping a malformed key in the Forge JWKS", extra={"kid": jwk.get("kid")})
        self._keys = keys
        self._fetched_at = now


class ForgeVerifier:
    def __init__(self, settings: MacroSettings, jwks: JwksCache | None = None):
        self.app_id = settings.forge_app_id.strip()
        self.leeway = settings.forge_clock_skew_seconds
        self.jwks = jwks or JwksCache(settings)

    def verify(self, authorization: str | None) -> Invocation:
        """The caller from an `Authorization: Bearer <FIT>` header; NotAllowed (401) for anything else."""
        if not self.app_id.startswith(APP_ARI_PREFIX):
            raise NotAllowed("The Confluence macro is not set up on this Lore server: set LORE_MACRO_FORGE_APP_ID "
                             f"to the app's id ({APP_ARI_PREFIX}<uuid>, from manifests/forge/manifest.yml).")
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAllowed("Missing Forge invocation token: calls must come from the Ask Lore macro.")
        if len(token) > MAX_TOKEN_CHARS:
            raise NotAllowed("The Forge invocation token is not valid.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAllowed("The Forge invocation token is not valid.") from None
        if header.get("alg") != ALGORITHM:
            raise NotAllowed(f"The Forge invocation token must be signed with {ALGORITHM}.")
        kid = header.get("kid")
        key = self.jwks.key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise NotAllowed("The Forge invocation token was signed with a key Atlassian does not publish.")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.app_id, issuer=ISSUER,
                                leeway=self.leeway, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise NotAllowed("The Forge invocation token has expired: reload the page.") from None
        except jwt.ImmatureSignatureError:
            raise NotAllowed("The Forge invocation token is not valid yet (check the server's clock).") from None
        except jwt.InvalidAudienceError:
            raise NotAllowed("The Forge invocation token is for another app (LORE_MACRO_FORGE_APP_ID).") from None
        except jwt.PyJWTError:
            raise NotAllowed("The Forge invocation token is not valid.") from None
        return _invocation(claims)


def _invocation(claims: dict[str, Any]) -> Invocation:
    principal = claims.get("principal")
    if isinstance(principal, dict):  # tolerate an object form; the documented one is the accountId string
        principal = principal.get("accountId")
    account = principal.strip() if isinstance(principal, str) and principal.strip() else None
    app = claims.get("app") if isinstance(claims.get("app"), dict) else {}
    context = claims.get("context") if isinstance(claims.get("context"), dict) else {}
    return Invocation(account_id=account, app_id=str(app.get("id") or claims.get("aud")),
                      cloud_id=str(context.get("cloudId") or ""), installation_id=str(app.get("installationId") or ""),
                      claims=claims)
