"""A local stand-in for Atlassian's Forge signing keys: RSA key pairs, a JWKS served over HTTP, and FIT minting."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from backend.forge_token import ISSUER

APP_ID = "ari:cloud:ecosystem::app/6f1c2a34-1d2e-4f5a-9b8c-0d1e2f3a4b5c"
CLOUD_ID = "c0ffee00-1234-4abc-9def-000000000042"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class Jwks:
    """The key set the server publishes; `keys` may change between requests (rotation)."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    url: str = ""
    requests: int = 0

    def body(self) -> bytes:
        return json.dumps({"keys": [public_jwk(k, kid) for kid, k in self.keys.items()]}).encode()


@contextlib.contextmanager
def serve_jwks(jwks: Jwks) -> Iterator[Jwks]:
    @Request.application
    def app(request: Request) -> Response:
        jwks.requests += 1
        return Response(jwks.body(), mimetype="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    jwks.url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    try:
        yield jwks
    finally:
        server.shutdown()
        server.server_close()


def fit(key: rsa.RSAPrivateKey | str | bytes | None, kid: str | None = "k1", *, account: str | None = "712020:bob",
        alg: str = "RS256", aud: str = APP_ID, iss: str = ISSUER, exp_in: float = 300, nbf_in: float = 0,
        **extra) -> str:
    """A Forge Invocation Token as Forge Remote sends it (claims per REFERENCE.md), with knobs to break it."""
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "nbf": now + int(nbf_in), "exp": now + int(exp_in),
              "jti": uuid.uuid4().hex,
              "app": {"id": APP_ID, "installationId": "ari:cloud:ecosystem::installation/1",
                      "apiBaseUrl": f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}"},
              "context": {"cloudId": CLOUD_ID, "moduleKey": "ask-lore"}, **extra}
    if account:
        claims["principal"] = account
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def handmade(header: dict, claims: dict, hmac_secret: bytes) -> str:
    """An HS256 token built by hand (PyJWT refuses to key HMAC with a PEM: exactly the attack we test)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    sig = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})
