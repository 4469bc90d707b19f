"""Hostile inputs, by family: whatever a client sends, the answer is a 4xx problem naming what
was wrong (never a 5xx), and nothing is kept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from typing import Any

import pytest

from .conftest import SECRET, Api, bearer

BOUNDARY = "nexusboundary"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x80binary"


def part(name: str, body: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + body + b"\r\n"


def body(*parts: bytes, end: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


MULTIPART_ODDITIES = {
    "binary text part named file": body(part("file", PNG_BYTES)),
    "binary text part named otherwise": body(part("note", PNG_BYTES), part("file", PNG_BYTES, "a.png")),
    "unknown charset": body(part("file", b"hello", content_type="text/plain; charset=x-no-such-charset")),
    "unknown charset on another part": body(
        part("note", b"hi", content_type="text/plain; charset=klingon"), part("file", PNG_BYTES, "a.png")
    ),
    "two file parts": body(part("file", PNG_BYTES, "a.png"), part("file", PNG_BYTES, "b.png")),
    "file sent as text": body(part("file", b"just words")),
    "no parts": body(),
    "cut short": body(part("file", PNG_BYTES, "a.png"), end=False)[:-10],
    "no boundary in the body": b"this is not multipart at all",
}


@pytest.mark.parametrize("route", ["/uploads", "/images/parameters"])
def test_every_multipart_oddity_is_a_400_naming_file_and_nothing_is_kept(api: Api, route: str) -> None:
    for oddity, sent in MULTIPART_ODDITIES.items():
        answer = api.request(
            "POST", route, content=sent, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        )
        assert answer.status_code == 400, (oddity, answer.status_code, answer.text)
        problem: dict[str, Any] = answer.json()
        assert problem["field"] == "file", (oddity, problem)
    assert api.request("GET", "/uploads").json()["count"] == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/x-www-form-urlencoded",
        "text/plain",
    ],
)
def test_a_body_that_is_not_multipart_with_a_boundary_is_a_400_naming_file(
    api: Api, content_type: str
) -> None:
    answer = api.request("POST", "/uploads", content=b"file=abc", headers={"Content-Type": content_type})
    assert answer.status_code in (400, 415), answer.text
    assert answer.json().get("field") == "file" or answer.status_code == 415


def signed(claims_json: str, secret: str = SECRET) -> str:
    """An HS256 token over this exact payload text (which json.dumps could not always write)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(claims_json.encode())
    signature = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64(signature)


SOON = str(int(time.time()) + 600)
ODD_VALUES = [
    "1" + "0" * 400,  # 10^400: no clock reaches it
    "-1" + "0" * 400,
    "1e400",  # Infinity once read
    "-1e400",
    "NaN",
    "Infinity",
    '"soon"',
    '""',
    "true",
    "null",
    "[]",
    "{}",
    "[" * 3000 + "]" * 3000,  # deep nesting
    '"' + "x" * 100_000 + '"',
    "1.5e-400",
]


PAST = ("-1" + "0" * 400, "-1e400", "1.5e-400")  # odd, but before now


def balance_with(api: Api, payload: str) -> Any:
    return api.client.get("/api/v1/tokens/balance", headers={"Authorization": f"Bearer {signed(payload)}"})


def test_a_signed_token_with_any_odd_time_or_subject_claim_is_a_401(api: Api) -> None:
    for claim in ("exp", "nbf", "iat", "sub"):
        for value in ODD_VALUES:
            claims = {"sub": '"alice"', "exp": SOON, claim: value}
            answer = balance_with(api, "{" + ",".join(f'"{k}":{v}' for k, v in claims.items()) + "}")
            seen = (claim, value[:20], answer.status_code, answer.text[:200])
            if (claim in ("iat", "nbf") and value in PAST) or (claim == "sub" and value == '"soon"'):
                assert answer.status_code in (200, 401), seen  # usable values, however odd
                continue
            assert answer.status_code == 401, seen
            assert answer.headers["content-type"].startswith("application/problem+json"), seen


def test_odd_tier_or_role_claims_never_make_a_5xx(api: Api) -> None:
    for claim in ("tier", "role"):
        for value in ODD_VALUES:
            answer = balance_with(api, '{"sub":"alice","exp":' + SOON + f',"{claim}":{value}' + "}")
            assert answer.status_code in (200, 401), (claim, value[:20], answer.text[:200])


def test_a_client_that_leaves_mid_body_is_not_a_server_error(api: Api, log_lines: io.StringIO) -> None:
    """The body stops half-way and the client disconnects: answered (to nobody) 499, one log
    line without a traceback, and the 5xx count does not move."""
    sent: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"prompt": "a lighth', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/images/generate", "raw_path": b"/api/v1/images/generate",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"), (b"content-length", b"400"),
            *[(k.lower().encode(), v.encode()) for k, v in bearer().items()],
        ],
    }  # fmt: skip
    before = api.client.get("/metrics").text
    assert 'http_responses_total{status_class="5xx"} 0.0' in before
    api.client.blocking_portal.call(api.client.app, scope, receive, send)
    started = next(m for m in sent if m["type"] == "http.response.start")
    assert started["status"] == 499
    text = api.client.get("/metrics").text
    assert 'http_responses_total{status_class="5xx"} 0.0' in text
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if line.strip()]
    closed = [r for r in lines if r["event"] == "client closed the request"]
    assert len(closed) == 1 and "exception" not in closed[0]
    assert not [r for r in lines if r.get("level") == "error" or "exception" in r]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100  # nothing charged
