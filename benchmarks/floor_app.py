"""The floor: the same work as nexus-image's API done the simplest way, to measure the API
against. Litestar and psycopg (async, a small pool of connections), served by uvicorn:

- every request but /health checks an HS256 JWT (`sub`, `exp`);
- POST /api/v1/images/generate: one transaction that debits the user's balance (refused with
  402 when short), inserts the job and inserts an outbox row; 201 with the job;
- GET /api/v1/images/{id}: one primary-key select of the caller's job; 404 otherwise;
- GET /health: a constant.

Its tables (`floor_*`) live in the database given by FLOOR_DATABASE_URL (psycopg form), made
here if missing. Run: FLOOR_DATABASE_URL=... FLOOR_JWT_SECRET=... uvicorn benchmarks.floor_app:app
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import psycopg
from litestar import Litestar, Request, Response, get, post

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_accounts (user_id text PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE IF NOT EXISTS floor_jobs (
    id uuid PRIMARY KEY, user_id text NOT NULL, prompt text NOT NULL, parameters jsonb NOT NULL,
    status text NOT NULL, tokens_cost int NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS floor_outbox (
    id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL);
"""
PRICE = 5
POOL_SIZE = 10
WELCOME = 100_000_000


class Pool:
    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size
        self.idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await psycopg.AsyncConnection.connect(self.url, autocommit=True))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self.idle.get()
        try:
            yield conn
        finally:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()


pool = Pool(os.environ.get("FLOOR_DATABASE_URL", ""), POOL_SIZE)
SECRET = os.environ.get("FLOOR_JWT_SECRET", "")


def caller(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def refused(status: int, detail: str) -> Response[dict[str, Any]]:
    return Response({"status": status, "detail": detail}, status_code=status)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/api/v1/images/generate")
async def generate(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    user = caller(request)
    if user is None:
        return refused(401, "a bearer token is required")
    body = await request.json()
    prompt = body.get("prompt") if isinstance(body, dict) else None
    if not isinstance(prompt, str) or not prompt.strip():
        return refused(422, "prompt is required")
    job_id, now = uuid.uuid4(), datetime.now(UTC)
    parameters = {"prompt": prompt, "steps": body.get("steps", 30), "seed": body.get("seed")}
    async with pool.connection() as conn, conn.transaction():
        row = await (
            await conn.execute(
                "INSERT INTO floor_accounts (user_id, balance) VALUES (%s, %s) ON CONFLICT (user_id) "
                "DO UPDATE SET balance = floor_accounts.balance - %s "
                "WHERE floor_accounts.balance >= %s RETURNING balance",
                (user, WELCOME - PRICE, PRICE, PRICE),
            )
        ).fetchone()
        if row is None:
            return refused(402, "not enough tokens")
        await conn.execute(
            "INSERT INTO floor_jobs (id, user_id, prompt, parameters, status, tokens_cost, created_at) "
            "VALUES (%s, %s, %s, %s, 'QUEUED', %s, %s)",
            (job_id, user, prompt, json.dumps(parameters), PRICE, now),
        )
        event = {"job_id": str(job_id), "user_id": user, "parameters": parameters}
        await conn.execute(
            "INSERT INTO floor_outbox (topic, key, payload, created_at) VALUES (%s, %s, %s, %s)",
            ("image.requested", str(job_id), json.dumps(event), now),
        )
    job = {"id": str(job_id), "status": "QUEUED", "tokens_cost": PRICE, "created_at": now.isoformat()}
    return Response(job, status_code=201)


@get("/api/v1/images/{job_id:str}")
async def image(request: Request[Any, Any, Any], job_id: str) -> Response[dict[str, Any]]:
    user = caller(request)
    if user is None:
        return refused(401, "a bearer token is required")
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        return refused(404, "not found")
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT id, status, tokens_cost, created_at, parameters FROM floor_jobs "
                "WHERE id = %s AND user_id = %s",
                (key, user),
            )
        ).fetchone()
    if row is None:
        return refused(404, "not found")
    found = {"id": str(row[0]), "status": row[1], "tokens_cost": row[2], "created_at": row[3].isoformat()}
    return Response({**found, "parameters": row[4]})


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    async with await psycopg.AsyncConnection.connect(pool.url, autocommit=True) as conn:
        await conn.execute(SCHEMA)
    await pool.open()
    try:
        yield
    finally:
        await pool.close()


app = Litestar([health, generate, image], lifespan=[lifespan], logging_config=None)
