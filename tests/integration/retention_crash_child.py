"""A separate process for the retention crash test (`python -m tests.integration.retention_crash_child
N ARGS...`): the real `nexus-image ARGS...` (its settings from the environment), whose S3 storage
kills the process with SIGKILL right after its N-th object deletion."""

from __future__ import annotations

import os
import signal
import sys

from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.entrypoints.cli import main


def dying_after(deletions: int) -> None:
    real_delete = S3ObjectStorage.delete
    done = 0

    def delete(self: S3ObjectStorage, key: str) -> None:
        nonlocal done
        real_delete(self, key)
        done += 1
        if done == deletions:
            os.kill(os.getpid(), signal.SIGKILL)

    S3ObjectStorage.delete = delete  # type: ignore[method-assign]


if __name__ == "__main__":
    dying_after(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
