"""The composition root: the only place that picks and builds adapters and use cases."""

from nexus_image.entrypoints.composition.container import ROLES, Container, Plan, plan_for
from nexus_image.entrypoints.composition.root import (
    Application,
    api_parts,
    compose,
    http_app,
    http_role,
    in_memory_service,
)

__all__ = [
    "ROLES",
    "Application",
    "Container",
    "Plan",
    "api_parts",
    "compose",
    "http_app",
    "http_role",
    "in_memory_service",
    "plan_for",
]
