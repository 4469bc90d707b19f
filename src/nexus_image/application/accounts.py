"""A user's account as they see it: tier, balance, their tier's limits and what they have used
of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_image.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import account_for, in_transaction
from nexus_image.application.usage import AccountView, account_view
from nexus_image.domain.account import TokenAccount
from nexus_image.domain.queue import TierPolicy


@dataclass(slots=True)
class ViewAccount:
    """The caller's account (opened with the welcome grant on a first look, as the balance
    is). The tier is the operator's choice for the user, else the one their token names."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    policy: TierPolicy = field(default_factory=TierPolicy)
    welcome_grant: int = 0

    def execute(self, user_id: str, token_tier: str | None = None) -> AccountView:
        def work(uow: UnitOfWork) -> AccountView:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            return self.view_of(uow, account, token_tier)

        return in_transaction(self.uow_factory, work)

    def suspended_users(self) -> set[str]:
        with self.uow_factory() as uow:
            return uow.accounts.suspended_users()

    def view_of(self, uow: UnitOfWork, account: TokenAccount, token_tier: str | None) -> AccountView:
        return account_view(uow, account, self.policy.tier(account.tier or token_tier), self.clock.now())
