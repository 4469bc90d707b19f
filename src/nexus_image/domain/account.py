"""A user's token account: the balance never goes negative; every movement is a ledger entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from nexus_image.domain.errors import InsufficientTokens, InvalidAmount


class EntryKind(StrEnum):
    GRANT = "GRANT"
    DEBIT = "DEBIT"
    REFUND = "REFUND"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    user_id: str
    kind: EntryKind
    amount: int  # signed: debits are negative
    reason: str
    at: datetime
    job_id: str | None = None


@dataclass(slots=True)
class TokenAccount:
    user_id: str
    balance: int = 0
    version: int = 0
    tier: str | None = None  # set by an operator: the user's tier whatever their token says
    suspended_at: datetime | None = None  # set by an operator: the user may do nothing meanwhile
    suspended_reason: str | None = None
    new_entries: list[LedgerEntry] = field(default_factory=list)

    @classmethod
    def open(cls, user_id: str, welcome_grant: int, at: datetime) -> TokenAccount:
        """A new account; a welcome grant, if any, is recorded like any other grant."""
        account = cls(user_id=user_id)
        if welcome_grant > 0:
            account.grant(welcome_grant, "welcome grant", at)
        return account

    def _record(
        self, kind: EntryKind, amount: int, reason: str, at: datetime, job_id: str | None
    ) -> LedgerEntry:
        entry = LedgerEntry(self.user_id, kind, amount, reason, at, job_id)
        self.balance += amount
        self.new_entries.append(entry)
        return entry

    @staticmethod
    def _check(amount: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidAmount(amount)

    def debit(self, amount: int, reason: str, at: datetime, job_id: str | None = None) -> LedgerEntry:
        self._check(amount)
        if amount > self.balance:
            raise InsufficientTokens(amount, self.balance)
        return self._record(EntryKind.DEBIT, -amount, reason, at, job_id)

    def refund(self, amount: int, reason: str, at: datetime, job_id: str | None = None) -> LedgerEntry:
        self._check(amount)
        return self._record(EntryKind.REFUND, amount, reason, at, job_id)

    def apply(self, kind: EntryKind, amount: int, reason: str, at: datetime, job_id: str) -> LedgerEntry:
        """A job's charge (DEBIT) or refund (REFUND), as a transition of the job asks."""
        if kind is EntryKind.DEBIT:
            return self.debit(amount, reason, at, job_id)
        if kind is EntryKind.REFUND:
            return self.refund(amount, reason, at, job_id)
        raise ValueError(f"a job moves tokens by DEBIT or REFUND, not {kind.value}")

    def grant(self, amount: int, reason: str, at: datetime) -> LedgerEntry:
        self._check(amount)
        return self._record(EntryKind.GRANT, amount, reason, at, None)

    def take(self, amount: int, reason: str, at: datetime) -> LedgerEntry:
        """An operator takes tokens back (a DEBIT without a job); never below zero."""
        return self.debit(amount, reason, at)

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    def suspend(self, reason: str, at: datetime) -> bool:
        """Suspended from `at` (False: it already was; the first reason stays)."""
        if self.suspended_at is not None:
            return False
        self.suspended_at, self.suspended_reason = at, reason
        return True

    def reinstate(self) -> bool:
        """Back in service (False: it was not suspended)."""
        if self.suspended_at is None:
            return False
        self.suspended_at = self.suspended_reason = None
        return True
