"""Webhooks as the Standard Webhooks specification has them: a message has an id (`msg_…`,
the same on every attempt), a time and a body, signed `v1,<base64 HMAC-SHA256 of
id.timestamp.body>` with a secret `whsec_<base64 key>`; a receiver accepts any of the
signatures listed, so two secrets are valid while one is rotated out. A failed attempt is
tried again later (exponential backoff with jitter, over hours) until one is answered 2xx or
the schedule ends. Destinations are refused when they name an address inside the service's own
network (loopback, private, link-local, metadata…), unless the operator allowed that range."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from nexus_image.domain.errors import InvalidValue

SECRET_PREFIX = "whsec_"
MESSAGE_PREFIX = "msg_"
MAX_URL_LENGTH = 2048
MAX_ENDPOINTS = 20  # per user
# Standard Webhooks' suggested schedule (seconds after the previous attempt): about 27 hours.
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # each delay is drawn within ±20 % so that many failed deliveries do not retry at once


class WebhookEvent(StrEnum):
    """The events of a job a webhook may subscribe to (the names of its domain events)."""

    REQUESTED = "generation.requested"
    STARTED = "generation.started"
    COMPLETED = "generation.completed"
    FAILED = "generation.failed"
    CANCELLED = "generation.cancelled"
    EXPIRED = "generation.expired"

    @classmethod
    def parse(cls, value: object) -> WebhookEvent:
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise InvalidValue("webhook_events", f"unknown event {value!r}; allowed: {allowed}") from None


ALL_EVENTS = frozenset(WebhookEvent)


def events_of(values: Iterable[object] | None) -> frozenset[WebhookEvent]:
    """A subscription's filter: every event when none is named."""
    chosen = frozenset(WebhookEvent.parse(value) for value in values or ())
    return chosen or ALL_EVENTS


def check_url(url: str, field_name: str = "webhook_url") -> str:
    """An absolute http(s) URL with a host, and no fragment (what a receiver can be)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ in the host, for one
        raise InvalidValue(field_name, f"{field_name} is not a valid URL") from None
    if len(url) > MAX_URL_LENGTH:
        raise InvalidValue(field_name, f"{field_name} is longer than {MAX_URL_LENGTH} characters")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0 or port == -1:
        raise InvalidValue(
            field_name, f"{field_name} must be an absolute http:// or https:// URL with a host"
        )
    if any(c.isspace() for c in url) or parts.fragment:
        raise InvalidValue(field_name, f"{field_name} must hold no spaces and no #fragment")
    return url


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of a message under one secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one signature per valid secret, space separated."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_)


@dataclass(slots=True)
class SigningSecrets:
    """A secret and, for a grace period after a rotation, the one before it."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def valid(self, now: datetime) -> list[str]:
        keep = self.previous is not None and self.previous_until is not None and now < self.previous_until
        return [self.current, self.previous] if keep and self.previous else [self.current]

    def rotate(self, now: datetime, grace: timedelta) -> None:
        self.previous, self.previous_until = self.current, now + grace
        self.current = new_secret()


@dataclass(slots=True)
class WebhookEndpoint:
    """A user's standing receiver: every subscribed event of every job of theirs goes there."""

    id: str
    user_id: str
    url: str
    events: frozenset[WebhookEvent]
    secrets: SigningSecrets
    created_at: datetime
    description: str = ""
    enabled: bool = True

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.events


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to be (re)tried at `next_attempt_at`
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # the schedule ran out, or the destination is refused


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = JITTER

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        try:
            delays = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise ValueError(f"not a list of seconds: {text!r}") from None
        if any(d < 0 for d in delays):
            raise ValueError("retry delays must not be negative")
        return cls(delays)

    @property
    def attempts(self) -> int:
        """How many attempts in all: the first, and one after each delay."""
        return len(self.delays) + 1

    def delay(self, attempts_made: int, draw: float) -> float | None:
        """Seconds until the next attempt after `attempts_made` failed ones (None: give up);
        `draw` in [0, 1) picks the jitter."""
        if attempts_made >= self.attempts:
            return None
        base = self.delays[attempts_made - 1]
        return base * (1 - self.jitter + 2 * self.jitter * draw)


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None = None
    response: str = ""  # the start of the receiver's answer, capped


@dataclass(slots=True)
class WebhookDelivery:
    """One message to one destination; its body is fixed when it is made, so every attempt
    sends the same bytes under the same id."""

    id: str
    user_id: str
    job_id: str
    event_type: str
    url: str
    endpoint_id: str | None  # None: the request's own webhook_url, signed with the account's secret
    body: str
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    next_attempt_at: datetime | None = None
    attempts: list[WebhookAttempt] = field(default_factory=list)

    def record(self, attempt: WebhookAttempt, schedule: RetrySchedule, draw: float, permanent: bool) -> None:
        """An attempt's outcome: delivered on a 2xx, else retried by the schedule (never when the
        failure is `permanent`, such as a refused destination)."""
        self.attempts.append(attempt)
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            self.status, self.next_attempt_at = DeliveryStatus.DELIVERED, None
            return
        wait = None if permanent else schedule.delay(len(self.attempts), draw)
        if wait is None:
            self.status, self.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            self.next_attempt_at = attempt.at + timedelta(seconds=wait)

    def replay(self, now: datetime) -> None:
        """Send it again now (the same id and body). A failed delivery gets that one attempt (its
        schedule is spent); a pending one keeps the rest of its schedule."""
        self.status, self.next_attempt_at = DeliveryStatus.PENDING, now


METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
COMPATIBLE = ipaddress.ip_network("::/96")


def _carried(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if any(ip in network for network in NAT64) or (ip in COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _literal(host: str) -> str | None:
    """The address a URL's host names by itself: an IP literal, including the short and numeric
    IPv4 forms resolvers accept (`127.1`, `2130706433`, `0x7f.1`); None for a name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return str(ipaddress.IPv4Address(socket.inet_aton(host)))
        except OSError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which addresses a webhook may reach: public ones, and the ranges an operator allowed
    (CIDR text, checked when parsed)."""

    allowed: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> DestinationPolicy:
        ranges = (p.strip() for p in text.split(",") if p.strip())
        return cls(tuple(str(ipaddress.ip_network(r, strict=False)) for r in ranges))

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be reached (None: it may). An IPv6 address that carries an IPv4
        one (mapped, compatible, NAT64, 6to4, Teredo) is judged by the IPv4 address it reaches."""
        given: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
        ip = _carried(given) if isinstance(given, ipaddress.IPv6Address) else given
        networks = [ipaddress.ip_network(r) for r in self.allowed]
        if any(given in network for network in networks):
            return None
        if any(ip in network for network in networks):
            return None
        if ip in METADATA_ADDRESSES:
            return f"{ip} is a cloud metadata address"
        if not ip.is_global or ip.is_multicast:
            return f"{ip} is not a public address (loopback, private, link-local or reserved)"
        return None


def checked_destination(url: str, policy: DestinationPolicy, field_name: str = "webhook_url") -> str:
    """A receiver's URL as far as it can be judged now: its shape, and a host written as an
    address the policy refuses (a name is resolved, and judged, at each attempt)."""
    check_url(url, field_name)
    host = urlsplit(url).hostname or ""
    address = _literal(host)
    if address is None:
        name = host.rstrip(".").lower()
        if name != "localhost" and not name.endswith(".localhost"):
            return url
        address = "127.0.0.1"
    refusal = policy.refusal(address)
    if refusal is not None:
        raise InvalidValue(field_name, f"{field_name} is refused: {refusal}")
    return url
