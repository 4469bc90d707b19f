"""In-process runtime adapters: the job queue, the live-event broadcaster and the rate limiter
of a single process (the embedded mode). Test fakes are in `nexus_image.testing`."""

from nexus_image.adapters.memory.broadcast import LiveEventBroadcaster, TeePublisher
from nexus_image.adapters.memory.queue import InMemoryQueue
from nexus_image.adapters.memory.rate_limit import SlidingLogLimiter

__all__ = ["InMemoryQueue", "LiveEventBroadcaster", "SlidingLogLimiter", "TeePublisher"]
