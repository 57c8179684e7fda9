"""Who is signed in to the pages, and the CSRF token every POST form carries.

A signed-in person is a `Principal` kept in Flask's signed session cookie (HttpOnly, SameSite=Lax, Secure when
LORE_WEB_COOKIE_SECURE). An `Authenticator` turns what a sign-in form (or, later, an OIDC callback) sent into a
Principal, or refuses with a message for the person. Today:

    AdminTokenAuthenticator   role "admin": the LORE_API_ADMIN_TOKEN, the same secret as the admin API
    DemoUserAuthenticator     role "user": pick one of LORE_WEB_DEMO_USERS (the local demo only)

An OIDC authenticator would be a third implementation of the same interface; the views would not change.
Each Authenticator also gives a fingerprint of its current secret (a keyed hash, never the secret): a session
signed in under an older admin token is signed out at its next request once the token is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from flask import abort, session

from backend.errors import LoreError

ROLES = ("admin", "user")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRefused(LoreError):
    code = "sign_in_refused"
    http_status = 401


@dataclass(frozen=True)
class Principal:
    role: str  # admin | user
    subject: str  # "admin", or the user's email (their Confluence identities are resolved from it)
    name: str  # what the page header shows


class Authenticator(Protocol):
    role: str

    def unavailable(self) -> str | None:
        """None when people can sign in this way; else why not and what the operator must set."""

    def authenticate(self, form: Mapping[str, str]) -> Principal:
        """The Principal for what the person sent, or SignInRefused with a message they can act on."""

    def fingerprint(self) -> str:
        """Changes whenever the accepted credentials change (then every session of this kind ends)."""


class AdminTokenAuthenticator:
    role = "admin"

    def __init__(self, admin_token: str):
        self._token = admin_token

    def unavailable(self) -> str | None:
        if not self._token:
            return ("The admin pages are off because no admin token is configured: set LORE_API_ADMIN_TOKEN on "
                    "the server and restart the backend.")
        return None

    def authenticate(self, form: Mapping[str, str]) -> Principal:
        if self.unavailable():
            raise SignInRefused(self.unavailable())
        given = (form.get("token") or "").strip()
        # compare_digest: the time taken must not tell how much of a guessed token was right
        if not given or not hmac.compare_digest(given.encode(), self._token.encode()):
            raise SignInRefused("That admin token is not right. Check it and try again.")
        return Principal("admin", "admin", "Admin")

    def fingerprint(self) -> str:
        return _fingerprint("admin", self._token)


class DemoUserAuthenticator:
    """Sign in as any listed email with no password: only for the local demo (LORE_WEB_DEMO_USERS)."""

    role = "user"

    def __init__(self, emails: str):
        self.emails = [e.strip() for e in emails.split(",") if e.strip()]

    def unavailable(self) -> str | None:
        if not self.emails:
            return ("Signing in to ask needs single sign-on, which this server does not have yet. Ask in Slack or "
                    "in Confluence, or (local demo only) set LORE_WEB_DEMO_USERS.")
        return None

    def authenticate(self, form: Mapping[str, str]) -> Principal:
        if self.unavailable():
            raise SignInRefused(self.unavailable())
        email = (form.get("email") or "").strip()
        if email.lower() not in {e.lower() for e in self.emails}:
            raise SignInRefused("Pick one of the listed demo users.")
        return Principal("user", email, email)

    def fingerprint(self) -> str:
        return _fingerprint("demo", ",".join(sorted(e.lower() for e in self.emails)))


def _fingerprint(kind: str, secret: str) -> str:
    # keyed with a per-kind label, truncated: it identifies a credential generation, it cannot be reversed
    return hmac.new(kind.encode(), secret.encode(), hashlib.sha256).hexdigest()[:16]


# ---- the session --------------------------------------------------------------------------------------

def sign_in(principal: Principal, authenticator: Authenticator) -> None:
    session.permanent = True  # lives PERMANENT_SESSION_LIFETIME (LORE_WEB_SESSION_HOURS), not "until closed"
    session[principal.role] = {**asdict(principal), "fp": authenticator.fingerprint(), "at": int(time.time())}
    session[CSRF_FIELD] = secrets.token_urlsafe(32)  # a new token with every sign-in


def sign_out(role: str) -> None:
    session.pop(role, None)


def signed_in(role: str, authenticator: Authenticator) -> Principal | None:
    data = session.get(role)
    if not isinstance(data, dict):
        return None
    if authenticator.unavailable() or not hmac.compare_digest(str(data.get("fp", "")), authenticator.fingerprint()):
        session.pop(role, None)  # the token was rotated (or sign-in turned off) since: sign in again
        return None
    return Principal(data["role"], data["subject"], data["name"])


# ---- CSRF -----------------------------------------------------------------------------------------------

def csrf_token() -> str:
    """The session's CSRF token (made on first use): every POST form and fetch() sends it back."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf(form: Mapping[str, str], headers: Mapping[str, str]) -> None:
    """Abort with 400 unless the request carries this session's CSRF token (a form field or a header)."""
    expected = session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD) or headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(400, description="This form has expired or did not come from this site. Reload the page and "
                               "try again.")
