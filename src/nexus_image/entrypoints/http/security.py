"""JWT verification (and development tokens), configured from NEXUS_IMAGE_JWT_* settings.

The algorithm is pinned by configuration, never taken from the token, so `alg: none` and
HS256-signed-with-the-public-key tokens are refused. `exp` and `sub` are required; `nbf`,
`aud` and `iss` are checked (the last two when configured). The user id is `sub`, nothing else."""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from nexus_image.domain.names import canonical_name
from nexus_image.entrypoints.settings import Settings

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
MIN_SECRET_BYTES = 32  # RFC 7518: an HMAC key at least as long as the hash
DEV_SECRET_FILE = "jwt-dev-secret"
LEEWAY_SECONDS = 30
MAX_SUBJECT = 255
DEFAULT_MAX_LIFETIME = 30 * 24 * 3600  # NEXUS_IMAGE_JWT_MAX_LIFETIME_SECONDS


class SecurityConfigurationError(Exception):
    """The JWT settings are missing or inconsistent; the server refuses to start."""


class InvalidToken(Exception):
    """The token is not one this server accepts; the message says why (for the client)."""


def _algorithm_for_key(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in EC_ALGORITHMS:
        return EC_ALGORITHMS[key.curve.name]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise SecurityConfigurationError(f"unsupported public key type: {type(key).__name__}")


def _compatible(algorithm: str, key: Any) -> bool:
    if isinstance(key, rsa.RSAPublicKey):
        return algorithm in RSA_ALGORITHMS
    return _algorithm_for_key(key) == algorithm


def _load_public_keys(value: str) -> dict[str | None, Any]:
    """PEM text, or a path to a PEM file (key or certificate) or a JWKS file; keys by `kid`."""
    text = value.strip()
    if not text.startswith(("-----BEGIN", "{")):
        try:
            text = Path(text).expanduser().read_text().strip()
        except OSError as error:
            raise SecurityConfigurationError(f"cannot read NEXUS_IMAGE_JWT_PUBLIC_KEY: {error}") from error
    try:
        if text.startswith("{"):
            document = json.loads(text)
            found = document.get("keys", [document])
            return {item.get("kid"): jwt.PyJWK(item).key for item in found}
        data = text.encode()
        if b"CERTIFICATE" in data.split(b"\n", 1)[0]:
            return {None: x509.load_pem_x509_certificate(data).public_key()}
        return {None: serialization.load_pem_public_key(data)}
    except (ValueError, TypeError, jwt.PyJWKError, jwt.InvalidKeyError) as error:
        raise SecurityConfigurationError(
            f"NEXUS_IMAGE_JWT_PUBLIC_KEY is not a usable key: {error}"
        ) from error


def canonical_algorithm(name: str | None) -> str | None:
    """`rs256` means RS256; a name nobody knows is refused at start, not at the first request."""
    if not name or not name.strip():
        return None
    known = {a.upper(): a for a in (*HMAC_ALGORITHMS, *RSA_ALGORITHMS, *EC_ALGORITHMS.values(), "EdDSA")}
    try:
        return known[name.strip().upper()]
    except KeyError:
        raise SecurityConfigurationError(
            f"unknown JWT algorithm {name!r}; known: {', '.join(sorted(known.values()))}"
        ) from None


def dev_secret(data_dir: Path) -> str:
    """The embedded mode's signing secret: random, made once, kept under the data directory
    (owner-only) so that tokens survive restarts."""
    path = data_dir / DEV_SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def signing_secret(settings: Settings) -> str | None:
    """The HMAC secret: configured, or the embedded development one; None when keys are used."""
    if settings.jwt_public_key:
        return None
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if settings.is_embedded:
        return dev_secret(settings.data_dir)
    raise SecurityConfigurationError(
        "with NEXUS_IMAGE_DATABASE_URL set (production), NEXUS_IMAGE_JWT_SECRET or "
        "NEXUS_IMAGE_JWT_PUBLIC_KEY must be configured"
    )


@dataclass(frozen=True)
class TokenVerifier:
    algorithm: str
    keys: dict[str | None, Any] = field(repr=False)
    audience: str | None = None
    issuer: str | None = None
    leeway: float = LEEWAY_SECONDS
    max_lifetime: int = DEFAULT_MAX_LIFETIME
    tier_claim: str = "tier"  # the claim naming the caller's tier in the fair queue
    role_claim: str = "role"  # the claim naming the caller's roles (a string or a list of them)
    operator_roles: frozenset[str] = frozenset({"admin"})  # the roles that make an operator

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        pinned = canonical_algorithm(settings.jwt_algorithm)
        secret = signing_secret(settings)
        if secret is not None:
            algorithm = pinned or "HS256"
            if algorithm not in HMAC_ALGORITHMS:
                raise SecurityConfigurationError(
                    f"{algorithm} needs NEXUS_IMAGE_JWT_PUBLIC_KEY, not a secret"
                )
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise SecurityConfigurationError(
                    f"NEXUS_IMAGE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
                )
            keys: dict[str | None, Any] = {None: secret}
        else:
            keys = _load_public_keys(settings.jwt_public_key or "")
            if not keys:
                raise SecurityConfigurationError("the JWKS holds no keys")
            algorithm = pinned or _algorithm_for_key(next(iter(keys.values())))
            if any(not _compatible(algorithm, key) for key in keys.values()):
                raise SecurityConfigurationError(f"{algorithm} does not match the configured public key(s)")
        return cls(
            algorithm,
            keys,
            settings.jwt_audience,
            settings.jwt_issuer,
            max_lifetime=settings.jwt_max_lifetime_seconds,
            tier_claim=settings.tier_claim,
            role_claim=settings.operator_role_claim,
            operator_roles=frozenset(settings.operator_roles_set),
        )

    def _key(self, kid: Any) -> Any:
        if kid in self.keys:
            return self.keys[kid]
        if len(self.keys) == 1 and (kid is None or None in self.keys):
            return next(iter(self.keys.values()))
        raise InvalidToken("unknown signing key")

    def verify(self, token: str) -> str:
        """The user id (`sub`) of a valid token; InvalidToken otherwise."""
        return self.identify(token)[0]

    def identify(self, token: str) -> tuple[str, str | None]:
        """The user id (`sub`) of a valid token, and the tier its tier claim names (None when
        it names none, or not as a short string); InvalidToken otherwise."""
        user, tier, _ = self.identity(token)
        return user, tier

    def identity(self, token: str) -> tuple[str, str | None, bool]:
        """As `identify`, and whether the token's role claim names an operator role. Any claim
        of any size or type that is not usable (a number too large for a clock, infinite or
        not a number, text where a number belongs, deep nesting) makes an invalid token."""
        try:
            return self._identity(token)
        except InvalidToken:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            raise InvalidToken("invalid token: a claim's value is out of range") from None

    def _identity(self, token: str) -> tuple[str, str | None, bool]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.algorithm:
                raise InvalidToken("signing algorithm not accepted")
            claims = jwt.decode(
                token,
                self._key(header.get("kid")),
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"invalid token: {error}") from None
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if name in claims and (
                not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            ):
                raise InvalidToken(f"invalid token: {name} must be a number of seconds")
        expires = claims["exp"]
        if expires - time.time() > self.max_lifetime:
            raise InvalidToken(f"invalid token: it lives longer than the {self.max_lifetime} s allowed")
        subject = claims.get("sub")
        if not isinstance(subject, str):
            raise InvalidToken("invalid token: unusable subject")
        # The canonical form: " alice", "alice" and "ali\u200bce" are one user; a blank one none.
        user = canonical_name(subject)
        if not 0 < len(user) <= MAX_SUBJECT or not user.isprintable():
            raise InvalidToken("invalid token: unusable subject")
        tier = claims.get(self.tier_claim)
        roles = claims.get(self.role_claim)
        named = {roles} if isinstance(roles, str) else set(roles) if isinstance(roles, list) else set()
        operator = any(isinstance(r, str) and r in self.operator_roles for r in named)
        return user, tier if isinstance(tier, str) and 0 < len(tier) <= MAX_TIER else None, operator


MAX_TIER = 32


def mint_token(settings: Settings, user_id: str, ttl_seconds: int, tier: str | None = None) -> str:
    """A development token for `user_id`, signed with the HMAC secret the server verifies with."""
    secret = signing_secret(settings)
    if secret is None:
        raise SecurityConfigurationError(
            "tokens cannot be minted here: the server verifies with a public key "
            "(NEXUS_IMAGE_JWT_PUBLIC_KEY); ask the identity provider for one"
        )
    algorithm = canonical_algorithm(settings.jwt_algorithm) or "HS256"
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "nbf": now, "exp": now + ttl_seconds}
    if tier is not None:
        claims[settings.tier_claim] = tier
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, secret, algorithm=algorithm)
