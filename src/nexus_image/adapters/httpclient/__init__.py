"""Outbound HTTP: what the service itself sends to other servers (webhooks)."""
