"""Authentication: only tokens signed with the configured key and algorithm, unexpired, for the
configured audience and issuer, get in; the caller is their `sub` and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from nexus_image.entrypoints.http.security import DEV_SECRET_FILE, SecurityConfigurationError, mint_token
from nexus_image.entrypoints.settings import Settings

from .conftest import SECRET, Api, app_for, open_api, token

api_for = contextmanager(open_api)


def call(api: Api, raw_token: str | None, header: str | None = None) -> Any:
    headers = {"Authorization": header or f"Bearer {raw_token}"} if (raw_token or header) else {}
    return api.client.get("/api/v1/tokens/balance", headers=headers)


def refused(response: Any, error: str | None = "invalid_token") -> str:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthenticated"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="nexus-image"')
    if error is not None:
        assert f'error="{error}"' in challenge
    detail: str = response.json()["detail"]
    return detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


def test_a_valid_token_gets_in_as_its_subject_only(api: Api) -> None:
    response = call(api, token("alice", user_id="bob", uid="bob", preferred_username="bob"))
    assert response.status_code == 200 and response.json()["user_id"] == "alice"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (
            lambda: token(secret="another-secret-that-is-long-enough-0123456789"),
            "Signature verification failed",
        ),
        (lambda: token(exp=int(time.time()) - 120), "token expired"),
        (lambda: token(exp=None), 'missing the "exp" claim'),
        (lambda: token(user=None), 'missing the "sub" claim'),  # type: ignore[arg-type]
        (lambda: token(nbf=int(time.time()) + 600), "not yet valid"),
        (lambda: token(algorithm="HS512"), "algorithm not accepted"),
        (lambda: unsigned({"sub": "alice", "exp": int(time.time()) + 600}), "algorithm not accepted"),
        (lambda: "not-a-jwt", "invalid token"),
        (lambda: token(user=""), "unusable subject"),
    ],
    ids=[
        "forged",
        "expired",
        "no-exp",
        "no-sub",
        "not-yet-valid",
        "other-hmac",
        "alg-none",
        "garbage",
        "empty-sub",
    ],
)
def test_bad_tokens_are_401_and_never_reach_the_database(api: Api, raw: Callable[[], str], why: str) -> None:
    assert why in refused(call(api, raw()))  # made now: a token made at collection would age
    assert api.db.opened == 0


def test_missing_or_malformed_authorization_is_401(api: Api) -> None:
    assert refused(call(api, None), None) == "a bearer token is required"
    refused(call(api, None, header="Basic YWxpY2U6c2VjcmV0"), "invalid_request")
    refused(call(api, None, header="Bearer "), "invalid_request")


def test_audience_and_issuer_are_checked_when_configured(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(SECRET), jwt_audience="nexus-image", jwt_issuer="https://id.example",
        embedded_worker=False,
    )  # fmt: skip
    with api_for(settings) as api:
        good = {"aud": "nexus-image", "iss": "https://id.example"}
        assert call(api, token(**good)).status_code == 200
        assert "audience" in refused(call(api, token(**{**good, "aud": "another-service"}))).lower()
        assert "aud" in refused(call(api, token(iss="https://id.example")))
        assert "issuer" in refused(call(api, token(**{**good, "iss": "https://evil.example"}))).lower()


def rsa_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def asymmetric(key: Any, algorithm: str, kid: str | None = None, **claims: Any) -> str:
    body = {"sub": "alice", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def test_rs256_with_a_public_key_accepts_its_tokens_and_refuses_key_confusion(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_pem(key)
    settings = Settings(data_dir=tmp_path, jwt_public_key=pem, jwt_algorithm="rs256", embedded_worker=False)
    with api_for(settings) as api:
        assert call(api, asymmetric(key, "RS256")).status_code == 200
        refused(call(api, asymmetric(other, "RS256")))
        refused(call(api, token(secret=SECRET)))
        # HS256 "signed" with the public key as the HMAC secret: the classic algorithm confusion.
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64(json.dumps({"sub": "alice", "exp": int(time.time()) + 600}).encode())
        signature = hmac.new(pem.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        assert "algorithm not accepted" in refused(call(api, f"{head}.{body}.{b64(signature)}"))


def test_es256_key_from_a_pem_file_and_rs256_from_a_jwks_file(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_text(rsa_pem(ec_key))
    with api_for(
        Settings(data_dir=tmp_path, jwt_public_key=str(tmp_path / "ec.pem"), embedded_worker=False)
    ) as api:
        assert call(api, asymmetric(ec_key, "ES256")).status_code == 200
        refused(call(api, asymmetric(ec.generate_private_key(ec.SECP256R1()), "ES256")))
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    jwks = {
        "keys": [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": f"k{i}"}
            for i, k in enumerate(keys)
        ]
    }
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    with api_for(
        Settings(data_dir=tmp_path, jwt_public_key=str(tmp_path / "jwks.json"), embedded_worker=False)
    ) as api:
        assert call(api, asymmetric(keys[1], "RS256", kid="k1")).status_code == 200
        refused(call(api, asymmetric(keys[1], "RS256", kid="k0")))
        assert "unknown signing key" in refused(call(api, asymmetric(keys[0], "RS256", kid="k9")))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_url": "postgresql+psycopg://db/nexus"}, "must be configured"),
        ({"jwt_secret": "short"}, "at least 32 bytes"),
        ({"jwt_secret": SECRET, "jwt_algorithm": "RS256"}, "needs NEXUS_IMAGE_JWT_PUBLIC_KEY"),
        (
            {"jwt_public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"},
            "not a usable key",
        ),
        ({"jwt_public_key": "/no/such/key.pem"}, "cannot read"),
        ({"jwt_secret": SECRET, "jwt_algorithm": "XY999"}, "unknown JWT algorithm"),
    ],
)
def test_the_server_refuses_to_start_with_unusable_jwt_settings(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(SecurityConfigurationError, match=message):
        app_for(Settings(data_dir=tmp_path, embedded_worker=False, **overrides))


def test_an_algorithm_pinned_for_another_key_type_is_refused(tmp_path: Path) -> None:
    pem = rsa_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(SecurityConfigurationError, match="does not match"):
        app_for(Settings(data_dir=tmp_path, jwt_public_key=pem, jwt_algorithm="ES256", embedded_worker=False))


def test_embedded_mode_keeps_a_private_random_dev_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedded_worker=False)
    minted = mint_token(settings, "alice", 60)
    secret_file = tmp_path / DEV_SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600 and len(secret_file.read_text()) >= 48
    assert jwt.decode(minted, secret_file.read_text(), algorithms=["HS256"])["sub"] == "alice"
    with api_for(settings) as api:
        assert call(api, minted).status_code == 200
    assert mint_token(Settings(data_dir=tmp_path), "bob", 60)  # the same secret, reused
    assert secret_file.read_text() == (tmp_path / DEV_SECRET_FILE).read_text()
