"""`nexus-image serve` (the HTTP API, with the worker embedded by default) and
`nexus-image token` (development tokens for it)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DEFAULT_TOKEN_TTL = 24 * 3600
MAX_TOKEN_TTL = 30 * 24 * 3600


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (and, unless NEXUS_IMAGE_EMBEDDED_WORKER=false, a worker in-process)",
        description="Serves the API on NEXUS_IMAGE_HOST:NEXUS_IMAGE_PORT. With no database, broker or "
        "S3 configured, everything runs embedded under NEXUS_IMAGE_DATA_DIR. Docs: /schema/swagger.",
    )
    serve.add_argument(
        "--host", default=None, help="address to listen on (default NEXUS_IMAGE_HOST, 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=None, help="port (default NEXUS_IMAGE_PORT, 8000)")
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser(
        "token",
        help="print a development JWT for a user of the embedded server",
        description="Signs a token with the embedded server's secret (NEXUS_IMAGE_JWT_SECRET, or the "
        "development secret kept in the data directory). In production tokens come from the platform.",
    )
    token.add_argument("--user", required=True, help="the user id (the token's `sub`)")
    token.add_argument(
        "--ttl", type=int, default=DEFAULT_TOKEN_TTL, help="lifetime in seconds (default 1 day)"
    )
    token.add_argument(
        "--allow-production",
        action="store_true",
        help="mint even though NEXUS_IMAGE_DATABASE_URL is set (the secret must then be configured)",
    )
    token.set_defaults(handler=cmd_token)


def _settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from nexus_image.entrypoints.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nexus_image.entrypoints.cli.main import RANDOM_MODEL_NOTICE
    from nexus_image.entrypoints.composition import compose, http_app, http_role
    from nexus_image.entrypoints.http.security import SecurityConfigurationError
    from nexus_image.entrypoints.logs import configure_logging

    settings = _settings(host=args.host, port=args.port)
    if settings is None:
        return 2
    configure_logging(settings.log_json)
    if settings.model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if settings.embedded_worker:
            print(RANDOM_MODEL_NOTICE, file=sys.stderr)
    try:
        app = http_app(compose(http_role(settings), settings))
    except SecurityConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base = f"http://{settings.host}:{settings.port}"
    print(f"nexus-image API on {base}/api/v1 (docs: {base}/schema/swagger)", file=sys.stderr)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=15,
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from nexus_image.entrypoints.http.security import MAX_SUBJECT, SecurityConfigurationError, mint_token

    settings = _settings()
    if settings is None:
        return 2
    if settings.database_url and not args.allow_production:
        print(
            "error: development tokens are for the embedded mode; NEXUS_IMAGE_DATABASE_URL is set "
            "(production: tokens come from the platform). Pass --allow-production to mint anyway.",
            file=sys.stderr,
        )
        return 2
    user = args.user.strip()
    if not user or len(user) > MAX_SUBJECT or not user.isprintable():
        print(f"error: --user must be 1 to {MAX_SUBJECT} printable characters", file=sys.stderr)
        return 2
    if not 1 <= args.ttl <= MAX_TOKEN_TTL:
        print(f"error: --ttl must be between 1 and {MAX_TOKEN_TTL} seconds", file=sys.stderr)
        return 2
    try:
        print(mint_token(settings, user, args.ttl))
    except SecurityConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
