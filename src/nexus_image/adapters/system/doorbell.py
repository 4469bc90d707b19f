"""A doorbell between threads: `ring()` from whoever produced work, `wait()` in the loop that
consumes it. Rings that come while nobody waits are kept (one is enough), so work committed
between the consumer's last look and its wait is never slept through."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Doorbell:
    def __init__(self) -> None:
        self._rung = threading.Event()
        self.rings = 0  # how many times it rang, for tests and diagnostics

    def ring(self) -> None:
        self.rings += 1
        self._rung.set()

    def wait(self, timeout: float) -> bool:
        """True when rung (now or since the last wait), False after `timeout` seconds."""
        rung = self._rung.wait(timeout)
        self._rung.clear()
        return rung


class _RingingOutbox:
    def __init__(self, outbox: Any, written: Callable[[], None]) -> None:
        self._outbox = outbox
        self._written = written

    def add(self, event: Any) -> None:
        self._outbox.add(event)
        self._written()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


class RingingUnitOfWork:
    """A unit of work that rings `bell` after a commit that wrote outbox rows (the rows are
    visible to the relay by then). Everything else is the wrapped unit's."""

    def __init__(self, inner: Any, bell: Doorbell | Chime) -> None:
        self._inner = inner
        self._bell = bell
        self._wrote = False
        self.outbox = _RingingOutbox(inner.outbox, self._note)

    def _note(self) -> None:
        self._wrote = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> RingingUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wrote = False
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._inner.commit()
        if self._wrote:
            self._wrote = False
            self._bell.ring()

    def rollback(self) -> None:
        self._wrote = False
        self._inner.rollback()


def ringing(factory: Callable[[], Any], bell: Doorbell | Chime) -> Callable[[], Any]:
    """`factory`'s units of work, ringing `bell` when a commit carried outbox rows."""

    def unit_of_work() -> RingingUnitOfWork:
        return RingingUnitOfWork(factory(), bell)

    return unit_of_work


class Chime:
    """Rings several bells at once: each loop waiting on one of them wakes."""

    def __init__(self, *bells: Doorbell) -> None:
        self.bells = bells

    def ring(self) -> None:
        for bell in self.bells:
            bell.ring()
