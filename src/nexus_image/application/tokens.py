"""Token balances and grants."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import account_for, in_transaction
from nexus_image.domain.account import LedgerEntry


@dataclass(frozen=True, slots=True)
class Balance:
    user_id: str
    balance: int


@dataclass(slots=True)
class ManageTokens:
    """A first look at an account opens it with the configured welcome grant."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    welcome_grant: int = 0

    def balance(self, user_id: str) -> Balance:
        def work(uow: UnitOfWork) -> Balance:
            return Balance(user_id, account_for(uow, user_id, self.welcome_grant, self.clock).balance)

        return in_transaction(self.uow_factory, work)

    def grant(self, user_id: str, amount: int, reason: str = "grant") -> Balance:
        def work(uow: UnitOfWork) -> Balance:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            account.grant(amount, reason, self.clock.now())
            uow.accounts.save(account)
            return Balance(user_id, account.balance)

        return in_transaction(self.uow_factory, work)

    def set_tier(self, user_id: str, tier: str | None) -> None:
        """The user's tier, set by an operator (it wins over the one their token names); None
        gives the choice back to the token."""

        def work(uow: UnitOfWork) -> None:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            account.tier = tier
            uow.accounts.save(account)

        in_transaction(self.uow_factory, work)

    def ledger(self, user_id: str) -> list[LedgerEntry]:
        with self.uow_factory() as uow:
            return uow.accounts.entries(user_id)
