"""A separate process for the crash test (run with `python -m tests.integration.outbox_crash_child`).

`request URL KEY`: request a generation (job, debit and outbox event commit together), print the
job id, then hang as if about to relay: the test SIGKILLs it there.
`relay URL BROKER [--die-after-publish]`: relay the outbox into BROKER (a JSON-lines file
standing for Kafka); with the flag, the process kills itself right after the first event
reaches the broker and before the outbox row is marked sent."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for
from nexus_image.adapters.system import SystemClock
from nexus_image.application import GenerateImage
from nexus_image.application.relay import RelayOutbox
from nexus_image.domain import DomainEvent

from .sql_support import service_on


class FileBroker:
    def __init__(self, path: Path, die_after_publish: bool) -> None:
        self.path = path
        self.die_after_publish = die_after_publish

    def publish(self, event: DomainEvent) -> None:
        with self.path.open("a") as broker:
            broker.write(json.dumps(event.to_dict()) + "\n")
            broker.flush()
            os.fsync(broker.fileno())
        if self.die_after_publish:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    db = SqlDatabase(create_engine_for(url))
    if mode == "request":
        service = service_on(db.unit_of_work, welcome_grant=100)
        job = service.request_generation(
            GenerateImage(user_id="dora", prompt="a lighthouse", client_key=argv[2])
        )
        print(job.id, flush=True)
        time.sleep(600)  # "about to relay": killed here
        return 1
    broker = FileBroker(Path(argv[2]), die_after_publish="--die-after-publish" in argv)
    sent = RelayOutbox(db.unit_of_work, broker, SystemClock()).drain()
    print(sent, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
