"""The Forge Invocation Token guard on the macro's endpoints: only a token Atlassian's key signed for our app, now,
gets through. Real HTTP throughout: the Lore API on a local port, a local JWKS server holding our test keys.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from backend.errors import NotAllowed
from backend.forge_token import ForgeVerifier, JwksCache
from backend.settings import MacroSettings
from tests.integration.forge_keys import APP_ID, Jwks, claims_of, fit, handmade, new_key, serve_jwks
from tests.integration.macro_app import running_api

UNKNOWN_JOB = "0" * 32  # a well-formed id no one owns: a caller who passes the guard gets 404, not 401


@pytest.fixture(scope="module")
def jwks():
    with serve_jwks(Jwks({"k1": new_key()})) as j:
        yield j


@pytest.fixture(scope="module")
def api(settings, jwks):
    s = replace(settings, macro=replace(settings.macro, forge_app_id=APP_ID, forge_jwks_url=jwks.url,
                                         forge_clock_skew_seconds=5, forge_jwks_refresh_seconds=0.5))
    with running_api(s) as url:
        yield url


def call(api: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{api}/api/forge/jobs/{UNKNOWN_JOB}", headers=headers, timeout=10)


def test_only_a_valid_token_passes(api, jwks):
    key = jwks.keys["k1"]
    other = new_key()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    valid = fit(key)
    forged_hs256 = handmade({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims_of(valid), public_pem)
    alg_none = handmade({"alg": "none", "typ": "JWT", "kid": "k1"}, claims_of(valid), b"").rsplit(".", 1)[0] + "."
    cases = {
        "valid": valid,
        "expired": fit(key, exp_in=-60),  # past the 5 s leeway
        "not yet valid": fit(key, nbf_in=120),
        "wrong audience": fit(key, aud="ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000"),
        "wrong issuer": fit(key, iss="someone/else"),
        "wrong signature": fit(other),  # a key Atlassian never published, claiming kid k1
        "unknown kid": fit(other, kid="k-unknown"),
        "alg none": alg_none,
        "HS256 keyed with the public key": forged_hs256,
        "missing": None,
        "not a JWT": "abc.def",
    }
    statuses = {name: call(api, token).status_code for name, token in cases.items()}
    assert statuses == {name: (404 if name == "valid" else 401) for name in cases}
    refused = call(api, fit(key, exp_in=-60)).json()["error"]
    assert refused["code"] == "not_allowed" and "expired" in refused["message"]


def test_a_small_clock_skew_is_tolerated(api, jwks):
    assert call(api, fit(jwks.keys["k1"], exp_in=-2)).status_code == 404  # within the 5 s leeway
    assert call(api, fit(jwks.keys["k1"], nbf_in=2)).status_code == 404


def test_an_unknown_kid_refreshes_the_key_set_and_finds_a_rotated_key(jwks):
    settings = MacroSettings(forge_app_id=APP_ID, forge_jwks_url=jwks.url, forge_jwks_refresh_seconds=60)
    now = [1000.0]
    verifier = ForgeVerifier(settings, JwksCache(settings, clock=lambda: now[0]))
    assert verifier.verify(f"Bearer {fit(jwks.keys['k1'])}").account_id == "712020:bob"
    fetched = verifier.jwks.fetches

    rotated = new_key()
    jwks.keys["k2"] = rotated  # Atlassian publishes a new key and starts signing with it
    try:
        now[0] += 61  # past the refresh interval since the last read
        inv = verifier.verify(f"Bearer {fit(rotated, kid='k2', account='712020:alice')}")
        assert inv.account_id == "712020:alice"
        assert verifier.jwks.fetches == fetched + 1  # one refresh found it
        assert verifier.verify(f"Bearer {fit(jwks.keys['k1'])}").account_id == "712020:bob"  # the old key still works

        # forged kids do not each cost a JWKS request: none within the refresh interval, then one
        for n in range(20):
            now[0] += 1
            with pytest.raises(NotAllowed):
                verifier.verify(f"Bearer {fit(rotated, kid=f'forged-{n}')}")
        assert verifier.jwks.fetches == fetched + 1
        now[0] += 60
        with pytest.raises(NotAllowed):
            verifier.verify(f"Bearer {fit(rotated, kid='forged-late')}")
        assert verifier.jwks.fetches == fetched + 2
    finally:
        del jwks.keys["k2"]


def test_without_an_app_id_every_call_is_refused(settings, jwks):
    s = replace(settings, macro=replace(settings.macro, forge_app_id="", forge_jwks_url=jwks.url))
    with running_api(s) as url:
        resp = call(url, fit(jwks.keys["k1"]))
    assert resp.status_code == 401 and "LORE_MACRO_FORGE_APP_ID" in resp.json()["error"]["message"]
