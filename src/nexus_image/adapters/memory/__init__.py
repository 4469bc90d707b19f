"""In-process adapters: the job queue, the live-event broadcaster and the rate limiter of a
single process (the embedded mode); the database in memory (`database`), object storage in a
dict (`storage`) and the pattern generator (`pattern`) of the memory role. The test fakes
(`nexus_image.testing`) re-export the last three."""

from nexus_image.adapters.memory.broadcast import LiveEventBroadcaster, TeePublisher
from nexus_image.adapters.memory.queue import InMemoryQueue
from nexus_image.adapters.memory.rate_limit import SlidingLogLimiter

__all__ = ["InMemoryQueue", "LiveEventBroadcaster", "SlidingLogLimiter", "TeePublisher"]
