"""API access: a service token (Bearer) proves the caller; the asker's email says whose pages they may see.

A service caller (the Slack bot, the Confluence macro's backend) acts on behalf of a person, named by the
`X-Lore-User-Email` header or a `user_email` field; without one the request sees public pages only.
"""

from __future__ import annotations

import hmac

from flask import g, request

from backend.documents import PUBLIC
from backend.errors import NotAllowed
from backend.settings import ApiSettings

USER_HEADER = "X-Lore-User-Email"


def configured_tokens(settings: ApiSettings) -> list[str]:
    return [t.strip() for t in settings.api_tokens.split(",") if t.strip()]


def require_token(settings: ApiSettings) -> None:
    """Raise NotAllowed unless the request carries one of the configured API tokens.

    The admin token is not one of them: it manages spaces, and must not also ask as anyone.
    """
    tokens = configured_tokens(settings)
    if not tokens:
        raise NotAllowed("The API has no tokens configured, so it accepts no calls: set LORE_API_API_TOKENS "
                         "(comma-separated) on the server and send one as `Authorization: Bearer <token>`.")
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise NotAllowed("Missing API token: send `Authorization: Bearer <token>` (one of LORE_API_API_TOKENS).")
    # compare against every token, constant time each: no early exit that would time the match
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given.encode(), token.encode())
    if not ok:
        raise NotAllowed("The API token is not valid: check it against LORE_API_API_TOKENS on the server.")


def asker_email(body: dict | None = None) -> str | None:
    email = request.headers.get(USER_HEADER) or (body or {}).get("user_email")
    return email.strip() if isinstance(email, str) and email.strip() else None


def asker_identities(resolver, body: dict | None = None) -> list[str]:
    """The asker's ACL identities (cached per request in flask.g); public only when nobody is named."""
    if "lore_identities" not in g:
        email = asker_email(body)
        g.lore_identities = resolver.resolve(email) if email else [PUBLIC]
    return g.lore_identities
