"""Operator commands: `db upgrade`, `maintenance cleanup`, `maintenance retention`,
`maintenance orphans`, `tokens grant USER N`, `tokens balance USER`.

Each prints one line; bad input exits 2, an unreachable database 1."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from nexus_image.application.errors import ApplicationError, DatabaseUnavailable
from nexus_image.domain.errors import DomainError

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def register(commands: Any) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="migrate the database to the latest schema")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    maintenance = commands.add_parser("maintenance", help="housekeeping").add_subparsers(
        dest="maintenance_command", required=True
    )
    cleanup = maintenance.add_parser(
        "cleanup", help="delete FAILED images older than 24 h: their rows and their stored files"
    )
    cleanup.add_argument("--hours", default="24", help="age in hours (default: 24)")
    cleanup.set_defaults(handler=cmd_cleanup)
    retention = maintenance.add_parser(
        "retention",
        help="remove the files of images older than their tier's retention_days (not favorited, "
        "in an album or public, as NEXUS_IMAGE_RETENTION_KEEPS says); their rows stay",
    )
    retention.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    retention.add_argument("--batch-size", default="200", help="images per transaction (default: 200)")
    retention.set_defaults(handler=cmd_retention)
    orphans = maintenance.add_parser(
        "orphans",
        help="remove stored objects no image or upload names (left by a crash between storing and "
        "recording), once older than the grace period",
    )
    orphans.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    orphans.add_argument("--grace-minutes", default="60", help="leave younger objects alone (default: 60)")
    orphans.add_argument("--batch-size", default="500", help="objects per page (default: 500)")
    orphans.set_defaults(handler=cmd_orphans)

    tokens = commands.add_parser("tokens", help="token accounts").add_subparsers(
        dest="tokens_command", required=True
    )
    grant = tokens.add_parser("grant", help="add N tokens to USER's account")
    grant.add_argument("user")
    grant.add_argument("amount", metavar="N")
    grant.add_argument("--reason", default="operator grant")
    grant.set_defaults(handler=cmd_tokens_grant)
    balance = tokens.add_parser("balance", help="show USER's balance")
    balance.add_argument("user")
    balance.set_defaults(handler=cmd_tokens_balance)


def _fail(message: str, code: int) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, even for driver errors
    return code


def _positive(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{what} must be a positive whole number, got {text!r}")
    return value


def _guarded(action: Callable[[], str]) -> int:
    """Run `action`, print its line; turn the errors an operator can meet into exit codes."""
    try:
        print(action())
    except ValueError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    except DomainError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    except DatabaseUnavailable as error:
        return _fail(str(error), EXIT_FAILED)
    except ApplicationError as error:
        return _fail(str(error), EXIT_FAILED)
    return 0


def _with_app(work: Callable[[Any], str]) -> Callable[[], str]:
    """Run `work` on the `cli` application (built lazily: only what it asks for opens)."""

    def run() -> str:
        from nexus_image.entrypoints.composition import compose
        from nexus_image.entrypoints.settings import Settings

        app = compose("cli", Settings())
        try:
            return work(app)
        finally:
            app.close()

    return run


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from nexus_image.entrypoints.composition.builders import MigrationError, migrate_database
    from nexus_image.entrypoints.settings import Settings

    try:
        url, revision = migrate_database(Settings(), args.revision)
    except MigrationError as error:
        return _fail(str(error), EXIT_BAD_INPUT if error.bad_input else EXIT_FAILED)
    print(f"database {url} is at revision {revision}")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        hours = _positive(args.hours, "--hours")
        removed = app.cleanup_failed.execute(retention=timedelta(hours=hours))
        return f"removed {removed} FAILED images older than {hours} h (rows and stored files)"

    return _guarded(_with_app(work))


def cmd_retention(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        use_case = replace(app.apply_retention, batch_size=_positive(args.batch_size, "--batch-size"))
        line = retention_line(use_case.execute(dry_run=args.dry_run))
        if not args.dry_run:
            _audit(app, "retention.apply", "images", line)
        return line

    return _guarded(_with_app(work))


def cmd_orphans(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        use_case = replace(
            app.sweep_orphans,
            batch_size=_positive(args.batch_size, "--batch-size"),
            grace=timedelta(minutes=_positive(args.grace_minutes, "--grace-minutes")),
        )
        report = use_case.execute(dry_run=args.dry_run)
        verb = "would remove" if report.dry_run else "removed"
        line = (
            f"orphans{' (dry run)' if report.dry_run else ''}: {verb} {report.removed} of "
            f"{report.seen} objects (no row names them); {report.young} without a row are younger "
            f"than {args.grace_minutes} min and stay"
        )
        line += f"; e.g. {', '.join(report.sample)}" if report.sample else ""
        if not args.dry_run:
            _audit(app, "orphans.sweep", "objects", line)
        return line

    return _guarded(_with_app(work))


def retention_line(report: Any) -> str:
    """One line: how many images, their bytes, per tier, what a stopped run left, some ids."""
    tiers = ", ".join(f"{tier} {count}" for tier, count in sorted(report.by_tier.items()))
    what = f"{report.images} images ({report.bytes} bytes recorded{'; ' + tiers if tiers else ''})"
    if report.dry_run:
        line = f"retention (dry run): the files of {what} would be removed"
        left = f"; {report.finished} marked by a stopped run still have files" if report.finished else ""
    else:
        line = f"retention: removed the files of {what}"
        left = f"; finished {report.finished} left by a stopped run" if report.finished else ""
    sample = f"; e.g. {', '.join(report.sample)}" if report.sample else ""
    return line + left + sample


def _audit(app: Any, action: str, target: str, detail: str) -> None:
    app.record_audit.execute(f"cli:{getpass.getuser()}", action, target, "ok", detail)


def cmd_tokens_grant(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        amount = _positive(args.amount, "N")
        if not args.user.strip():
            raise ValueError("USER must not be empty")
        balance = app.manage_tokens.grant(args.user, amount, args.reason).balance
        _audit(app, "tokens.grant", f"account:{args.user}", f"{amount} tokens: {args.reason}")
        return f"granted {amount} tokens to {args.user}: balance {balance}"

    return _guarded(_with_app(work))


def cmd_tokens_balance(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        return f"{args.user}: {app.manage_tokens.balance(args.user).balance} tokens"

    return _guarded(_with_app(work))
