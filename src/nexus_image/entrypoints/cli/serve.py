"""`nexus-image serve` (the HTTP API, with the worker embedded by default) and
`nexus-image token` (development tokens for it)."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
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
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port, for the API alone (default NEXUS_IMAGE_HTTP_WORKERS, "
        "else 1); each has its own /metrics, so deployments scale by replicas instead",
    )
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser(
        "token",
        help="print a development JWT for a user of the embedded server",
        description="Signs a token with the embedded server's secret (NEXUS_IMAGE_JWT_SECRET, or the "
        "development secret kept in NEXUS_IMAGE_DATA_DIR/jwt-dev-secret, made on first use: run it "
        "with the same NEXUS_IMAGE_DATA_DIR as the server, or the server answers 401 'Signature "
        "verification failed'). In production tokens come from the platform.",
    )
    token.add_argument("--user", required=True, help="the user id (the token's `sub`)")
    token.add_argument(
        "--ttl", type=int, default=DEFAULT_TOKEN_TTL, help="lifetime in seconds (default 1 day)"
    )
    token.add_argument(
        "--tier",
        default=None,
        help="the fair queue's tier the token names (its NEXUS_IMAGE_TIER_CLAIM claim)",
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

    from nexus_image.entrypoints.cli.first_run import needs_model, offer_starter_model
    from nexus_image.entrypoints.cli.main import RANDOM_MODEL_NOTICE
    from nexus_image.entrypoints.composition import compose, http_app, http_role
    from nexus_image.entrypoints.http.security import SecurityConfigurationError
    from nexus_image.entrypoints.logs import configure_logging

    settings = _settings(host=args.host, port=args.port, http_workers=args.workers)
    if settings is None:
        return 2
    # One by default: each process keeps its own Prometheus series and a scrape reaches one of
    # them, so deployments scale by replicas (one process each) where /metrics matters.
    processes = settings.http_workers or 1
    if processes > 1 and settings.embedded_worker:
        print(
            "error: --workers above 1 needs NEXUS_IMAGE_EMBEDDED_WORKER=false: the embedded worker "
            "holds the model and the in-process queue, once per machine",
            file=sys.stderr,
        )
        return 2
    problem = port_problem(settings.host, settings.port)
    if problem is not None:  # before anything loads: a busy port is said at once, in one line
        print(f"error: {problem}", file=sys.stderr)
        return 1
    configure_logging(settings.log_json)
    if settings.model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # diffusers' own lookups; our pulls are ours
        first_run = settings.embedded_worker and needs_model(settings)
        if first_run and offer_starter_model(settings) is None:
            print(RANDOM_MODEL_NOTICE, file=sys.stderr)
    try:
        composed = compose(http_role(settings), settings)
        app = http_app(composed)
    except SecurityConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base = f"http://{settings.host}:{settings.port}"
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 15,
        "http": "nexus_image.entrypoints.http.server_protocol:HeaderTimeoutProtocol",
        "ws_max_size": WS_MAX_FRAME_BYTES,
    }
    if processes == 1:
        print(f"nexus-image API on {base}/api/v1 (docs: {base}/schema/swagger)", file=sys.stderr)
        print(f"studio: open {studio_url(settings.host, settings.port)} in a browser", file=sys.stderr)
        uvicorn.run(app, **options)
        return 0
    # The application built above checked the configuration (security, database); each server
    # process builds its own from the same environment. Host and port are the shared socket's.
    composed.close()
    print(
        f"nexus-image API on {base}/api/v1 in {processes} processes (docs: {base}/schema/swagger); "
        "note: /metrics answers for one process per scrape",
        file=sys.stderr,
    )
    print(f"studio: open {studio_url(settings.host, settings.port)} in a browser", file=sys.stderr)
    serve_processes(processes, options)
    return 0


WS_MAX_FRAME_BYTES = 64 * 1024  # a client's WebSocket message: only the auth message matters


def studio_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the studio (all interfaces include loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve_processes(processes: int, options: dict[str, Any]) -> None:
    """uvicorn's supervisor over `processes` server processes sharing one listening socket.
    The socket says it is TCP (uvicorn makes it with protocol 0, and asyncio then leaves Nagle
    on for every connection: each keep-alive response waited 40 ms for the delayed ACK)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "nexus_image.entrypoints.cli.serve:application", factory=True, workers=processes, **options
    )
    bound = config.bind_socket()
    listening = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    Multiprocess(config, sockets=[listening]).run()


def application() -> Any:
    """The ASGI app of one server process of `serve --workers N` (uvicorn's factory)."""
    from nexus_image.entrypoints.composition import compose, http_app, http_role
    from nexus_image.entrypoints.logs import configure_logging
    from nexus_image.entrypoints.settings import Settings

    settings = Settings()
    configure_logging(settings.log_json)
    return http_app(compose(http_role(settings), settings))


def port_problem(host: str, port: int) -> str | None:
    """Why `serve` could not listen on host:port, or None when it can (checked by binding it
    the way uvicorn will, with SO_REUSEADDR, and letting it go at once)."""
    hint = "set NEXUS_IMAGE_PORT or --port"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot listen on {host}: {error.strerror}; set NEXUS_IMAGE_HOST or --host"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use; {hint}"
            if error.errno == errno.EACCES:
                return f"port {port} on {host} needs privileges this user lacks; {hint}"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine; set NEXUS_IMAGE_HOST or --host"
            return f"cannot listen on port {port} on {host}: {error.strerror or error}; {hint}"
    return None


def secret_notes(settings: Any) -> list[str]:
    """What `token` tells about the development secret it signs with: that it was just made (so
    no server has used this data directory yet), or that the data directory is not the default
    one. A server verifies only tokens signed with the secret of its own NEXUS_IMAGE_DATA_DIR."""
    from nexus_image.entrypoints.http.security import DEV_SECRET_FILE
    from nexus_image.entrypoints.settings import default_data_dir

    if settings.jwt_public_key or settings.jwt_secret is not None or not settings.is_embedded:
        return []  # a configured secret or key: nothing comes from the data directory
    data_dir = Path(settings.data_dir).expanduser()
    secret = data_dir / DEV_SECRET_FILE
    default = default_data_dir()
    other = data_dir.resolve() != default.resolve()
    where = f"NEXUS_IMAGE_DATA_DIR={data_dir}" + (f", not the default {default}" if other else "")
    if not secret.exists():
        return [
            f"note: created a new signing secret in {secret} ({where}): no server has used this data "
            "directory yet, and only a server with the same NEXUS_IMAGE_DATA_DIR accepts this token"
        ]
    if other:
        return [
            f"note: signed with the secret in {secret} ({where}); the server must run with the same "
            'NEXUS_IMAGE_DATA_DIR, or it answers 401 "Signature verification failed"'
        ]
    return []


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
    notes = secret_notes(settings)  # before minting: minting makes the secret when it is missing
    try:
        token = mint_token(settings, user, args.ttl, tier=args.tier)
    except SecurityConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in notes:
        print(note, file=sys.stderr)
    print(token)
    return 0
