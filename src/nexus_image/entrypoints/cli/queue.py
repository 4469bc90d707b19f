"""`nexus-image queue status|pause|resume|tier` (operators) and `nexus-image dispatcher` (a
standalone dispatcher process: it dispatches queued jobs to the workers, in the fair-share
order, while it holds the dispatcher lock; standbys take over when it dies)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from typing import Any

from nexus_image.entrypoints.cli.admin import _audit, _guarded, _with_app

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    queue = commands.add_parser("queue", help="the fair queue: status, pause, resume").add_subparsers(
        dest="queue_command", required=True
    )
    status = queue.add_parser("status", help="tiers, images waiting, dispatched, running, workers")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    status.set_defaults(handler=cmd_queue_status)
    pause = queue.add_parser(
        "pause", help="stop dispatching: requests are still accepted and charged, nothing is started"
    )
    pause.set_defaults(handler=cmd_queue_pause)
    resume = queue.add_parser("resume", help="dispatch again, in the fair-share order")
    resume.set_defaults(handler=cmd_queue_resume)
    tier = queue.add_parser(
        "tier", help="set USER's tier (it wins over the one their token names), or --clear it"
    )
    tier.add_argument("user")
    tier.add_argument("tier", nargs="?", default=None, help="one of NEXUS_IMAGE_TIERS")
    tier.add_argument("--clear", action="store_true", help="let the token's claim decide again")
    tier.set_defaults(handler=cmd_queue_tier)

    dispatcher = commands.add_parser(
        "dispatcher",
        help="run a standalone dispatcher (and outbox relay): queued jobs to the workers, fairly",
        description="Dispatches queued jobs to the workers with room, in the fair-share order of "
        "NEXUS_IMAGE_TIERS, while it holds the dispatcher lock (a PostgreSQL advisory lock); run "
        "two for fail-over. Workers and embedded servers run a candidate too unless "
        "NEXUS_IMAGE_SCHEDULER=false.",
    )
    dispatcher.set_defaults(handler=cmd_dispatcher)


def _status_text(status: Any) -> str:
    lines = [f"queue: {'PAUSED (nothing is dispatched)' if status.paused else 'dispatching'}"]
    oldest = status.oldest_waiting_seconds
    lines.append(
        f"dispatched, not started: {status.dispatched}; running: {status.running}; "
        f"oldest waiting: {'-' if oldest is None else f'{oldest:.0f} s'}"
    )
    for tier in status.tiers:
        running = tier.max_running or "no cap"
        lines.append(
            f"tier {tier.name}: weight {tier.weight:g}, {tier.waiting_images} images waiting from "
            f"{tier.waiting_users} users (per user: {tier.max_queued} queued, {running} running)"
        )
    lines.append(f"workers taking jobs: {len(status.workers)}")
    for seat in status.workers:
        partitions = "any" if seat.partitions is None else ",".join(map(str, seat.partitions)) or "none yet"
        lines.append(f"  {seat.worker_id}: {seat.capacity} ahead, partitions {partitions}")
    return "\n".join(lines)


def _status_json(status: Any) -> str:
    return json.dumps(
        {
            "paused": status.paused,
            "dispatched": status.dispatched,
            "running": status.running,
            "oldest_waiting_seconds": status.oldest_waiting_seconds,
            "tiers": [vars(t) if hasattr(t, "__dict__") else _fields(t) for t in status.tiers],
            "workers": [
                {
                    "worker_id": s.worker_id,
                    "capacity": s.capacity,
                    "partitions": None if s.partitions is None else list(s.partitions),
                    "seen_at": s.seen_at.isoformat(),
                }
                for s in status.workers
            ],
        }
    )


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def cmd_queue_status(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        status = app.manage_queue.status()
        return _status_json(status) if args.json else _status_text(status)

    return _guarded(_with_app(work))


def cmd_queue_pause(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        called_back = app.manage_queue.pause()
        _audit(app, "queue.pause", "queue", f"{called_back} dispatched jobs called back")
        return (
            f"queue paused: nothing is dispatched; {called_back} jobs dispatched and not started "
            "wait for their turn again (requests are still accepted)"
        )

    return _guarded(_with_app(work))


def cmd_queue_resume(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        app.manage_queue.resume()
        _audit(app, "queue.resume", "queue", "dispatching again")
        return "queue resumed: dispatching in the fair-share order"

    return _guarded(_with_app(work))


def cmd_queue_tier(args: argparse.Namespace) -> int:
    def work(app: Any) -> str:
        user = args.user.strip()
        if not user:
            raise ValueError("USER must not be empty")
        if args.clear == (args.tier is not None):
            raise ValueError("give a TIER, or --clear")
        names = app.settings.tier_policy.names
        if args.tier is not None and args.tier not in names:
            raise ValueError(f"unknown tier {args.tier!r}; tiers: {', '.join(names)}")
        app.manage_tokens.set_tier(user, args.tier)
        _audit(app, "queue.tier", f"account:{user}", args.tier or "cleared")
        if args.tier is None:
            return f"{user}: tier cleared (the token's claim, else {app.settings.tier_policy.default})"
        return f"{user}: tier {args.tier}"

    return _guarded(_with_app(work))


def cmd_dispatcher(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from nexus_image.entrypoints.composition import compose
    from nexus_image.entrypoints.logs import configure_logging
    from nexus_image.entrypoints.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_json)
    app = compose("dispatcher", settings)
    loops = app.dispatcher_loops()

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: the dispatcher stops", signum)
        loops.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loops.run()
    finally:
        app.close()
    return 0
