"""Long-running loops (the worker, the outbox relay, stalled-job recovery) and the runtime
that runs them in every role that generates."""

from nexus_image.entrypoints.worker.loops import RecoveryLoop, RelayLoop, WorkerLoop
from nexus_image.entrypoints.worker.runtime import WorkerRuntime

__all__ = ["RecoveryLoop", "RelayLoop", "WorkerLoop", "WorkerRuntime"]
