"""Readiness: whether each dependency answers now."""

from __future__ import annotations

from collections.abc import Callable, Mapping

HealthCheck = Callable[[], str]
"""Returns a short status ("ok", "ready", "unchecked", "loading"...), or raises when the
dependency does not answer."""

HealthChecks = Mapping[str, HealthCheck]
"""Named checks, in the order readiness reports them."""
