"""`nexus-image keys create|list|revoke`: service keys, for operators.

`create` prints the token alone on stdout (so `TOKEN=$(nexus-image keys create ...)` works) and
what was made on stderr: the token is shown this once, never again."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from nexus_image.application.errors import NotFound
from nexus_image.domain.service_key import SCOPES, ServiceKey
from nexus_image.entrypoints.cli.admin import _audit, _guarded, _positive, _with_app


def register(commands: Any) -> None:
    keys = commands.add_parser(
        "keys", help="service keys: long-lived, scoped API keys for other services"
    ).add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser(
        "create",
        help="make a key and print its token (shown once, never again)",
        description="Makes a service key and prints its token (nxi_sk_...) on stdout, once: only "
        "its hash is kept. The key is USER (default service:NAME) wherever a JWT would be; with "
        "the on_behalf_of scope it may name the user it acts for (X-On-Behalf-Of).",
    )
    create.add_argument("name", help="what the key is for (shown in listings and the audit trail)")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help=f"a scope the key holds (repeat for more): {', '.join(sorted(SCOPES))}",
    )
    create.add_argument("--user", default=None, help="the user the key is (default: service:NAME)")
    create.add_argument(
        "--expires-in", default=None, metavar="DAYS", help="days until it expires (default: never)"
    )
    create.add_argument(
        "--rate-limit",
        default=None,
        metavar="N",
        help="at most N requests a minute with it (default: no limit)",
    )
    create.set_defaults(handler=cmd_keys_create)
    listing = keys.add_parser("list", help="every key (never a secret): status, scopes, last use")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of text")
    listing.set_defaults(handler=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key: refused at once by every replica")
    revoke.add_argument("key_id", metavar="ID")
    revoke.set_defaults(handler=cmd_keys_revoke)


def _when(moment: datetime | None, never: str = "-") -> str:
    return never if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _described(key: ServiceKey) -> str:
    limit = f", {key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else ""
    return (
        f"key {key.id} ({key.name}): {' '.join(sorted(key.scopes))}, as {key.user_id}, "
        f"expires {_when(key.expires_at, 'never')}{limit}"
    )


def cmd_keys_create(args: argparse.Namespace) -> int:
    from nexus_image.application.service_keys import CreateServiceKey

    def work(app: Any) -> str:
        days = _positive(args.expires_in, "--expires-in") if args.expires_in is not None else None
        limit = _positive(args.rate_limit, "--rate-limit") if args.rate_limit is not None else None
        command = CreateServiceKey(
            name=args.name,
            scopes=args.scope,
            user_id=args.user,
            expires_in=timedelta(days=days) if days else None,
            rate_limit_per_minute=limit,
        )
        created = app.manage_service_keys.create(command)
        _audit(app, "service_key.create", created.key.label, f"scopes {' '.join(sorted(created.key.scopes))}")
        print(f"created {_described(created.key)}", file=sys.stderr)
        print("the token below is shown this once and will not be shown again: store it now", file=sys.stderr)
        token: str = created.token
        return token

    return _guarded(_with_app(work))


def _row(key: ServiceKey, state: str) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "user_id": key.user_id,
        "scopes": sorted(key.scopes),
        "status": state,
        "created_at": key.created_at.isoformat(),
        "expires_at": None if key.expires_at is None else key.expires_at.isoformat(),
        "revoked_at": None if key.revoked_at is None else key.revoked_at.isoformat(),
        "last_used_at": None if key.last_used_at is None else key.last_used_at.isoformat(),
        "rate_limit_per_minute": key.rate_limit_per_minute,
    }


def cmd_keys_list(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        use_case = app.manage_service_keys
        keys = use_case.list_keys()
        if args.json:
            return json.dumps([_row(key, use_case.state(key)) for key in keys])
        if not keys:
            return "no service keys"
        return "\n".join(
            f"{use_case.state(key):7} {_described(key)}; last used {_when(key.last_used_at, 'never')}"
            for key in keys
        )

    return _guarded(_with_app(work))


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        try:
            key = app.manage_service_keys.revoke(args.key_id.strip())
        except NotFound as error:  # a mistyped id is bad input, not a failure
            raise ValueError(str(error)) from None
        _audit(app, "service_key.revoke", key.label, "revoked")
        return f"revoked {key.label}: every request with it is refused from now on"

    return _guarded(_with_app(work))
