"""The caller's token balance."""

from __future__ import annotations

from litestar import Controller, get

from nexus_image.application.tokens import ManageTokens
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.schemas import BalanceResponse


class TokensController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @get("/balance", sync_to_thread=True, summary="The caller's token balance", responses=problems())
    def balance(self, user: str, tokens: ManageTokens) -> BalanceResponse:
        """A first look opens the account, with the configured welcome grant."""
        found = tokens.balance(user)
        return BalanceResponse(user_id=found.user_id, balance=found.balance)
