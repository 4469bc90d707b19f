"""Token accounts with an append-only ledger, and idempotency keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import entry_from_row, entry_values
from nexus_image.adapters.sqlalchemy.tables import idempotency_keys, token_accounts, token_ledger
from nexus_image.domain.account import LedgerEntry, TokenAccount


class SqlAccounts(SqlRepository):
    """Reading an account locks it until the transaction ends, so concurrent debits of one
    account queue up instead of failing: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite, which
    locks the whole database for writing, a no-op UPDATE takes the write lock before the read.
    The version guard on save stays as a second line of defence, and the table refuses a
    negative balance as a third."""

    def get(self, user_id: str) -> TokenAccount | None:
        mine = token_accounts.c.user_id == user_id
        statement = sa.select(token_accounts).where(mine)
        if self.postgres:
            statement = statement.with_for_update()
        elif self.uow.dialect == "sqlite":
            self.execute(sa.update(token_accounts).where(mine).values(version=token_accounts.c.version))
        row = self.execute(statement).mappings().first()
        if row is None:
            return None
        return TokenAccount(
            user_id=row["user_id"],
            balance=int(row["balance"]),
            version=row["version"],
            tier=row["tier"],
            suspended_at=row["suspended_at"],
            suspended_reason=row["suspended_reason"],
        )

    @staticmethod
    def _values(account: TokenAccount) -> dict[str, object]:
        return {
            "balance": account.balance,
            "tier": account.tier,
            "suspended_at": account.suspended_at,
            "suspended_reason": account.suspended_reason,
        }

    def add(self, account: TokenAccount) -> None:
        """An account that exists already is ConcurrentUpdate: somebody opened it meanwhile."""
        values = {"user_id": account.user_id, "version": account.version, **self._values(account)}
        self.execute(sa.insert(token_accounts).values(**values))
        self._append_entries(account)

    def save(self, account: TokenAccount) -> None:
        values = self._values(account)
        self.guarded_update(
            token_accounts, token_accounts.c.user_id, account.user_id, account.version, values
        )
        self._append_entries(account)

    def _append_entries(self, account: TokenAccount) -> None:
        if account.new_entries:
            self.execute(sa.insert(token_ledger), [entry_values(e) for e in account.new_entries])
            account.new_entries.clear()

    def entries(self, user_id: str) -> list[LedgerEntry]:
        """Oldest first."""
        statement = (
            sa.select(token_ledger).where(token_ledger.c.user_id == user_id).order_by(token_ledger.c.id)
        )
        return [entry_from_row(r) for r in self.execute(statement).mappings()]

    def images_charged(self, user_id: str, since: datetime) -> int:
        charged, refunded = token_ledger.alias("charged"), token_ledger.alias("refunded")
        statement = (
            sa.select(sa.func.count())
            .select_from(charged)
            .where(
                charged.c.user_id == user_id,
                charged.c.at >= since,
                charged.c.kind == "DEBIT",
                charged.c.job_id.is_not(None),
                ~sa.exists().where(refunded.c.job_id == charged.c.job_id, refunded.c.kind == "REFUND"),
            )
        )
        return int(self.execute(statement).scalar_one())

    def suspended_users(self) -> set[str]:
        statement = sa.select(token_accounts.c.user_id).where(token_accounts.c.suspended_at.is_not(None))
        return {row[0] for row in self.execute(statement)}


class SqlIdempotency(SqlRepository):
    def get(self, user_id: str, key: str) -> tuple[str, str] | None:
        statement = sa.select(idempotency_keys.c.job_id, idempotency_keys.c.fingerprint).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
        )
        row = self.execute(statement).first()
        return (row[0], row[1]) if row is not None else None

    def add(self, user_id: str, key: str, job_id: str, fingerprint: str, at: datetime) -> None:
        """A key recorded meanwhile by a concurrent request is ConcurrentUpdate: the use case
        retries and then finds the other request's job."""
        values = {"user_id": user_id, "key": key, "job_id": job_id, "fingerprint": fingerprint}
        self.execute(sa.insert(idempotency_keys).values(**values, created_at=at))
