"""Long-running loops: the worker, the outbox relay and stalled-job recovery."""

from nexus_image.entrypoints.worker.loops import RecoveryLoop, RelayLoop, WorkerLoop

__all__ = ["RecoveryLoop", "RelayLoop", "WorkerLoop"]
