"""The studio in a real browser: Debian's Chromium driven by Playwright (no browser download),
against a real `nexus-image serve` process on the embedded defaults (SQLite, files, in-process
queue, the worker with the tiny random pipeline: no model configured, so the page must say the
images are noise). Screenshots go to test-artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "nexus-image")
CHROMIUM = os.environ.get("NEXUS_IMAGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
OPERATOR_PROBE = "/api/v1/admin/queue"


class Studio:
    """The server under test: its URL, and a way to read its log when something fails."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data / "serve.log"
        env = {
            **os.environ,
            "NEXUS_IMAGE_DATA_DIR": str(data / "data"),
            "NEXUS_IMAGE_THREADS": "2",
            "NEXUS_IMAGE_RATE_LIMIT_PER_MINUTE": "1000",
            "NEXUS_IMAGE_IMAGE_SAFETY": "none",
            "NEXUS_IMAGE_LOG_JSON": "true",
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("NEXUS_IMAGE_DATABASE_URL", None)
        env.pop("NEXUS_IMAGE_MODEL", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"nexus-image serve did not become ready:\n{self.log()}")
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="package")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    server = Studio(tmp_path_factory.mktemp("studio"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Package-scoped: Playwright's sync API keeps an event loop running in this thread while it
    is open, which later tests' `asyncio.run` would trip over."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, studio: Studio) -> Iterator[Any]:
    """Pages in their own browser contexts (separate storage: separate users)."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=studio.url)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        watch_errors(page)
        return page

    yield make
    for context in contexts:
        context.close()


def watch_errors(page: Any) -> None:
    """`page.errors`: the page's uncaught errors and the errors it logs, but the 404 of the
    studio's one look at GET /api/v1/admin/queue after sign-in, which tells it whether the
    caller is an operator (Chromium logs the 404 of anyone else; the page shows nothing)."""
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: _logged_error(message) and page.errors.append(message.text))


def _logged_error(message: Any) -> bool:
    if message.type != "error":
        return False
    probe = (message.location or {}).get("url", "").endswith(OPERATOR_PROBE)
    return not (probe and "404" in message.text)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
