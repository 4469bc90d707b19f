"""The key of erased users' pseudonyms (`erased-` + HMAC-SHA256(key, user id)).

Every process that erases must use the same key, or one user would get two pseudonyms. In
order: NEXUS_IMAGE_ERASURE_KEY; else a key derived from NEXUS_IMAGE_JWT_SECRET (which every
replica shares already; the derivation is one-way, so the key tells nothing of the secret);
else a random key made once and kept, owner-only, in the data directory (the embedded mode,
whose JWT secret is kept there too)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from nexus_image.entrypoints.settings import Settings

KEY_FILE = "erasure-key"
MIN_KEY_BYTES = 32
DERIVATION_LABEL = b"nexus-image erasure pseudonyms v1"


def _kept_key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def erasure_key(settings: Settings) -> bytes:
    if settings.erasure_key is not None:
        key = settings.erasure_key.get_secret_value().encode()
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"NEXUS_IMAGE_ERASURE_KEY must be at least {MIN_KEY_BYTES} bytes long")
        return key
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, DERIVATION_LABEL, hashlib.sha256).digest()
    return _kept_key(settings.data_dir)
