"""The operators' API (`/api/v1/admin`): a JWT whose role claim names an operator role, or a
service key with the `admin` scope. Anyone else gets the answer of a route that does not
exist. Every action is audited with the operator's name."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from msgspec import Meta, Struct

from nexus_image.application.audit import RecordAudit
from nexus_image.application.dispatch import ManageQueue
from nexus_image.application.dto import ImageView
from nexus_image.application.erasure import EraseUser
from nexus_image.application.operators import MAX_REASON, OperateUsers, WorkerView
from nexus_image.application.tokens import ManageTokens
from nexus_image.domain.service_key import Scope
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.auth import SCOPE
from nexus_image.entrypoints.http.controllers.account import AccountResponse
from nexus_image.entrypoints.http.controllers.images import private_file
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.schemas import ImageResponse

MAX_TOKENS = 1_000_000_000


class TierQueueResponse(Struct, kw_only=True):
    name: str
    weight: float
    max_queued: int
    max_running: int
    waiting_images: int
    waiting_users: int


class UserQueueResponse(Struct, kw_only=True):
    user_id: str
    tier: str
    waiting: int
    running: int


class WorkerResponse(Struct, kw_only=True):
    worker_id: str
    models: list[str]  # empty: any model
    capacity: int
    running: int
    state: str  # active or gone
    last_seen_at: datetime

    @classmethod
    def of(cls, worker: WorkerView) -> WorkerResponse:
        return cls(
            worker_id=worker.worker_id,
            models=list(worker.models),
            capacity=worker.capacity,
            running=worker.running,
            state=worker.state,
            last_seen_at=worker.last_seen_at,
        )


class QueueResponse(Struct, kw_only=True):
    paused: bool
    dispatched: int
    running: int
    oldest_waiting_seconds: float | None
    tiers: list[TierQueueResponse]
    users: list[UserQueueResponse]


class PausedResponse(Struct, kw_only=True):
    paused: bool
    called_back: int = 0  # jobs handed to workers and not started, waiting for their turn again


class CancelledResponse(Struct, kw_only=True):
    image: ImageResponse
    refunded_tokens: int


class TokensRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """`amount` > 0 grants, < 0 takes back; `reason` goes into the ledger and the audit trail."""

    amount: Annotated[int, Meta(ge=-MAX_TOKENS, le=MAX_TOKENS)]
    reason: Annotated[str, Meta(min_length=1, max_length=MAX_REASON)]


class BalanceChanged(Struct, kw_only=True):
    user_id: str
    balance: int


class SuspendRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=MAX_REASON)]


class SuspensionResponse(Struct, kw_only=True):
    user_id: str
    suspended: bool
    cancelled: int = 0  # queued jobs cancelled (and refunded) by the suspension


class ReviewRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    decision: str  # hide, release or delete


class ReviewResponse(Struct, kw_only=True):
    id: str
    decision: str
    image: ImageResponse | None  # None once deleted


class UserResponse(Struct, kw_only=True):
    account: AccountResponse
    active: list[ImageResponse]


class ErasedResponse(Struct, kw_only=True):
    pseudonym: str  # what stands for the user in the ledger and the audit trail from now on
    cancelled: int
    images: int
    uploads: int
    rows: int


class LedgerEntryResponse(Struct, kw_only=True):
    kind: str
    amount: int
    reason: str
    at: datetime
    job_id: str | None


def _image(view: ImageView) -> ImageResponse:
    return ImageResponse.of(view, None, None)


class OperatorsController(Controller):
    path = "/admin"
    tags = ["admin"]
    opt = {SCOPE: Scope.ADMIN.value}

    @get("/queue", sync_to_thread=True, summary="The queue by tier and user", responses=problems(404))
    def queue(self, operators: OperateUsers, queue: ManageQueue) -> QueueResponse:
        status = queue.status()
        users = operators.queue_by_user()
        return QueueResponse(
            paused=status.paused,
            dispatched=status.dispatched,
            running=status.running,
            oldest_waiting_seconds=status.oldest_waiting_seconds,
            tiers=[
                TierQueueResponse(
                    name=t.name,
                    weight=t.weight,
                    max_queued=t.max_queued,
                    max_running=t.max_running,
                    waiting_images=t.waiting_images,
                    waiting_users=t.waiting_users,
                )
                for t in status.tiers
            ],
            users=[
                UserQueueResponse(user_id=u.user_id, tier=u.tier, waiting=u.waiting, running=u.running)
                for u in users
            ],
        )

    @post(
        "/queue/pause",
        status_code=200,
        sync_to_thread=True,
        summary="Stop dispatching",
        responses=problems(404),
    )
    def pause(self, user: str, queue: ManageQueue, audit: RecordAudit) -> PausedResponse:
        """Requests are still accepted and charged; nothing new starts until resumed."""
        with audited(audit, user, "queue.pause", "queue") as note:
            called_back = queue.pause()
            note.detail = f"{called_back} called back"
        return PausedResponse(paused=True, called_back=called_back)

    @post(
        "/queue/resume",
        status_code=200,
        sync_to_thread=True,
        summary="Dispatch again",
        responses=problems(404),
    )
    def resume(self, user: str, queue: ManageQueue, audit: RecordAudit) -> PausedResponse:
        with audited(audit, user, "queue.resume", "queue"):
            queue.resume()
        return PausedResponse(paused=False)

    @post(
        "/jobs/{job_id:str}/cancel",
        status_code=200,
        sync_to_thread=True,
        summary="Cancel anyone's job (refunded)",
        responses=problems(404, 409),
    )
    def cancel_job(
        self, job_id: str, user: str, operators: OperateUsers, audit: RecordAudit
    ) -> CancelledResponse:
        """Refunded as the cancel policy says (`NEXUS_IMAGE_CANCEL_REFUND`)."""
        with audited(audit, user, "operator.job.cancel", job_id) as note:
            cancelled = operators.cancel(job_id)
            note.detail = f"of {cancelled.view.user_id}, refunded {cancelled.refunded}"
        return CancelledResponse(image=_image(cancelled.view), refunded_tokens=cancelled.refunded)

    @post(
        "/jobs/{job_id:str}/requeue",
        status_code=200,
        sync_to_thread=True,
        summary="Put a running or handed-out job back in the queue",
        responses=problems(404, 409),
    )
    def requeue_job(
        self, job_id: str, user: str, operators: OperateUsers, audit: RecordAudit
    ) -> ImageResponse:
        with audited(audit, user, "operator.job.requeue", job_id) as note:
            view = operators.requeue(job_id)
            note.detail = f"of {view.user_id}"
        return _image(view)

    @get(
        "/users/{user_id:str}",
        sync_to_thread=True,
        summary="A user's account and active jobs",
        responses=problems(404),
    )
    def user_usage(self, user_id: str, operators: OperateUsers) -> UserResponse:
        found = operators.user(user_id)
        return UserResponse(
            account=AccountResponse.of(found.account), active=[_image(v) for v in found.active]
        )

    @get(
        "/users/{user_id:str}/ledger",
        sync_to_thread=True,
        summary="A user's ledger, newest first",
        responses=problems(404),
    )
    def ledger(
        self,
        user_id: str,
        tokens: ManageTokens,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[LedgerEntryResponse]:
        entries = tokens.ledger(user_id)[-limit:]
        return [
            LedgerEntryResponse(kind=e.kind.value, amount=e.amount, reason=e.reason, at=e.at, job_id=e.job_id)
            for e in reversed(entries)
        ]

    @post(
        "/users/{user_id:str}/tokens",
        status_code=200,
        sync_to_thread=True,
        summary="Grant or take back tokens, with a reason",
        responses=problems(402, 404, 422),
    )
    def adjust_tokens(
        self, user_id: str, data: TokensRequest, user: str, operators: OperateUsers, audit: RecordAudit
    ) -> BalanceChanged:
        """`amount` > 0 grants, < 0 takes back (never below 0: 402). The ledger entry carries
        the reason."""
        action = "operator.tokens.grant" if data.amount > 0 else "operator.tokens.take"
        with audited(audit, user, action, f"user:{user_id}") as note:
            note.detail = f"{data.amount:+d}: {data.reason}"
            balance = operators.adjust_tokens(user_id, data.amount, data.reason)
        return BalanceChanged(user_id=user_id, balance=balance)

    @post(
        "/users/{user_id:str}/suspend",
        status_code=200,
        sync_to_thread=True,
        summary="Suspend a user (their queued jobs are cancelled and refunded)",
        responses=problems(404, 422),
    )
    def suspend(
        self,
        request: Request[Any, Any, Any],
        user_id: str,
        data: SuspendRequest,
        user: str,
        operators: OperateUsers,
        audit: RecordAudit,
    ) -> SuspensionResponse:
        """Every request of theirs is 403 from now on (within a couple of seconds on every
        replica; a new generation at once), until reinstated."""
        with audited(audit, user, "operator.user.suspend", f"user:{user_id}") as note:
            cancelled = operators.suspend(user_id, data.reason)
            note.detail = f"{data.reason} ({cancelled} queued jobs cancelled)"
        request.app.state.suspensions.forget()  # this replica at once; the others within seconds
        return SuspensionResponse(user_id=user_id, suspended=True, cancelled=cancelled)

    @post(
        "/users/{user_id:str}/reinstate",
        status_code=200,
        sync_to_thread=True,
        summary="Reinstate a suspended user",
        responses=problems(404),
    )
    def reinstate(
        self,
        request: Request[Any, Any, Any],
        user_id: str,
        user: str,
        operators: OperateUsers,
        audit: RecordAudit,
    ) -> SuspensionResponse:
        with audited(audit, user, "operator.user.reinstate", f"user:{user_id}") as note:
            changed = operators.reinstate(user_id)
            note.detail = "reinstated" if changed else "was not suspended"
        request.app.state.suspensions.forget()
        return SuspensionResponse(user_id=user_id, suspended=False)

    @post(
        "/users/{user_id:str}/erase",
        status_code=200,
        sync_to_thread=True,
        summary="Erase a user's data (images, uploads, albums, keys, webhooks…)",
        responses=problems(404, 422, 503),
    )
    def erase(self, user_id: str, user: str, erase_user: EraseUser) -> ErasedResponse:
        """As the user's own `DELETE /api/v1/account`: their jobs are cancelled (refunded),
        everything of theirs is deleted with its files, and the ledger and audit rows are kept
        under a one-way pseudonym (`pseudonym`). Audited with the operator's name; running it
        again finds nothing left. A run cut short (503) finishes when sent again."""
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        done = erase_user.execute(user_id, actor=user, note=f"request {request_id}")
        return ErasedResponse(
            pseudonym=done.pseudonym,
            cancelled=done.cancelled,
            images=done.images,
            uploads=done.uploads,
            rows=done.rows,
        )

    @get("/flagged", sync_to_thread=True, summary="Images the output check flagged", responses=problems(404))
    def flagged(
        self,
        operators: OperateUsers,
        reviewed: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[ImageResponse]:
        """Not reviewed yet (or, with `reviewed=true`, those already decided), oldest first."""
        return [_image(v) for v in operators.flagged(reviewed, limit)]

    @get(
        "/flagged/{job_id:str}/content",
        sync_to_thread=True,
        summary="A flagged image's PNG",
        responses=problems(404),
        media_type="image/png",
    )
    def flagged_content(self, job_id: str, operators: OperateUsers) -> Response[bytes]:
        return private_file(*operators.image(job_id))

    @post(
        "/flagged/{job_id:str}/review",
        status_code=200,
        sync_to_thread=True,
        summary="Decide on a flagged image: hide, release or delete",
        responses=problems(404, 422),
    )
    def review(
        self, job_id: str, data: ReviewRequest, user: str, operators: OperateUsers, audit: RecordAudit
    ) -> ReviewResponse:
        """`hide`: private for good; `release`: its owner may make it public; `delete`: the
        image and its files are removed."""
        known = data.decision in ("hide", "release", "delete")
        with audited(audit, user, f"operator.image.{data.decision if known else 'review'}", job_id):
            view = operators.review(job_id, data.decision)
        return ReviewResponse(id=job_id, decision=data.decision, image=_image(view) if view else None)

    @get(
        "/workers",
        sync_to_thread=True,
        summary="The workers, their models and last heartbeat",
        responses=problems(404),
    )
    def workers(self, operators: OperateUsers) -> list[WorkerResponse]:
        return [WorkerResponse.of(w) for w in operators.workers()]
