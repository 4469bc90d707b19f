"""Running a piece of work in one unit of work, retried when a concurrent writer got there first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nexus_image.application.errors import ConcurrentUpdate
from nexus_image.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from nexus_image.domain.account import TokenAccount

R = TypeVar("R")


def in_transaction(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], R], attempts: int = 8) -> R:
    """Run `work` in a fresh unit of work and commit; re-run it on ConcurrentUpdate."""
    for attempt in range(attempts):
        try:
            with uow_factory() as uow:
                result = work(uow)
                uow.commit()
                return result
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def account_for(uow: UnitOfWork, user_id: str, welcome_grant: int, clock: Clock) -> TokenAccount:
    """The user's account, opened (with the welcome grant, as a ledger entry) on first use."""
    account = uow.accounts.get(user_id)
    if account is None:
        account = TokenAccount.open(user_id, welcome_grant, clock.now())
        uow.accounts.add(account)
    return account
