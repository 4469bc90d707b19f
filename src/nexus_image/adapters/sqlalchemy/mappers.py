"""Explicit mapping between rows and domain objects: the domain classes stay plain dataclasses.

Each `*_values` function gives the column values to write; each `*_from_row` rebuilds the
object. Enum columns hold the enum's value; a job's generation parameters are one JSON
document, as the domain writes it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import RowMapping

from nexus_image.application.ports import AuditRecord
from nexus_image.domain.account import EntryKind, LedgerEntry
from nexus_image.domain.album import Album
from nexus_image.domain.events import DomainEvent, event_from_dict
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.parameters import GenerationParameters
from nexus_image.domain.preset import Preset
from nexus_image.domain.safety import OutputSafety
from nexus_image.domain.styles import Style


def job_values(job: ImageJob) -> dict[str, Any]:
    """Every column except `version`, which only the repository moves."""
    return {
        "id": job.id,
        "user_id": job.user_id,
        "parameters": job.parameters.to_dict(),
        "resolution": job.parameters.resolution.value,
        "tokens_cost": job.tokens_cost,
        "status": job.status.value,
        "is_public": job.is_public,
        "companion_id": job.companion_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "failure_reason": job.failure_reason,
        "image_key": job.image_key,
        "thumbnail_key": job.thumbnail_key,
        "attempts": job.attempts,
        "worker_id": job.worker_id,
        "lease_expires_at": job.lease_expires_at,
        "group_id": job.group_id,
        "tier": job.tier,
        "deadline_at": job.deadline_at,
        "dispatched_at": job.dispatched_at,
        "dispatched_to": job.dispatched_to,
        "model": job.parameters.model,
        "stored_bytes": job.stored_bytes,
        "steps_done": job.steps_done,
        "steps_total": job.steps_total,
        "safety_review": job.safety_review,
        "data_removed_at": job.data_removed_at,
        **_safety_values(job.safety),
    }


def _safety_values(safety: OutputSafety | None) -> dict[str, Any]:
    if safety is None:
        return {"safety_flagged": None, "safety_score": None, "safety_labels": None, "safety_checker": None}
    return {
        "safety_flagged": safety.flagged,
        "safety_score": safety.score,
        "safety_labels": ",".join(safety.labels)[:512],
        "safety_checker": safety.checker[:32],
    }


def _safety_from_row(row: RowMapping) -> OutputSafety | None:
    if row["safety_flagged"] is None:
        return None
    labels = tuple(label for label in (row["safety_labels"] or "").split(",") if label)
    return OutputSafety(
        bool(row["safety_flagged"]),
        float(row["safety_score"] or 0.0),
        labels,
        row["safety_checker"] or "none",
    )


def job_from_row(row: RowMapping) -> ImageJob:
    stored = row["parameters"]
    parameters = GenerationParameters.restore(json.loads(stored) if isinstance(stored, str) else stored)
    return ImageJob(
        id=row["id"],
        user_id=row["user_id"],
        parameters=parameters,
        tokens_cost=row["tokens_cost"],
        created_at=row["created_at"],
        status=JobStatus(row["status"]),
        is_public=bool(row["is_public"]),
        companion_id=row["companion_id"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        failure_reason=row["failure_reason"],
        image_key=row["image_key"],
        thumbnail_key=row["thumbnail_key"],
        attempts=row["attempts"],
        worker_id=row["worker_id"],
        lease_expires_at=row["lease_expires_at"],
        safety=_safety_from_row(row),
        group_id=row["group_id"],
        tier=row["tier"],
        deadline_at=row["deadline_at"],
        dispatched_at=row["dispatched_at"],
        dispatched_to=row["dispatched_to"],
        stored_bytes=int(row["stored_bytes"] or 0),
        steps_done=row["steps_done"],
        steps_total=row["steps_total"],
        safety_review=row["safety_review"],
        data_removed_at=row["data_removed_at"],
        version=row["version"],
    )


def album_from_row(row: RowMapping, image_ids: list[str]) -> Album:
    return Album(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        created_at=row["created_at"],
        image_ids=image_ids,
        version=row["version"],
    )


def preset_values(preset: Preset) -> dict[str, Any]:
    """Every column except `version`, which only the repository moves."""
    return {
        "id": preset.id,
        "owner_id": preset.owner_id,
        "name": preset.name,
        "template": preset.template,
        "negative_prompt": preset.negative_prompt,
        "style": preset.style.value if preset.style is not None else None,
        "parameters": preset.parameters,
        "is_public": preset.is_public,
        "created_at": preset.created_at,
        "updated_at": preset.updated_at,
    }


def preset_from_row(row: RowMapping) -> Preset:
    stored = row["parameters"]
    return Preset(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        template=row["template"],
        negative_prompt=row["negative_prompt"],
        style=Style(row["style"]) if row["style"] is not None else None,
        parameters=dict(json.loads(stored) if isinstance(stored, str) else stored),
        is_public=bool(row["is_public"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def entry_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "user_id": entry.user_id,
        "kind": entry.kind.value,
        "amount": entry.amount,
        "reason": entry.reason,
        "job_id": entry.job_id,
        "at": entry.at,
    }


def entry_from_row(row: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        user_id=row["user_id"],
        kind=EntryKind(row["kind"]),
        amount=int(row["amount"]),
        reason=row["reason"],
        at=row["at"],
        job_id=row["job_id"],
    )


def event_values(event: DomainEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "job_id": event.job_id,
        "payload": event.to_dict(),
        "created_at": event.occurred_at,
    }


def event_from_row(row: RowMapping) -> DomainEvent:
    return event_from_dict(dict(row["payload"]))


def audit_values(entry: AuditRecord) -> dict[str, Any]:
    return {
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "at": entry.at,
        "detail": entry.detail,
        "via": entry.via,
    }
