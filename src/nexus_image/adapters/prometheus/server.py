"""The metrics port of a process without an HTTP API (the worker): `/metrics` (any other path
too, like prometheus_client's own server) and `/health`, a liveness probe that answers as soon
as the process runs, before the model is loaded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

HEALTH_BODY = b'{"status":"ok"}'


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scrape never holds the process up at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def metrics_app(registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """The WSGI app: `/health` → 200 `{"status":"ok"}`, everything else → the registry."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health":
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
                return [b""]
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(HEALTH_BODY)))]
            start_response("200 OK", headers)
            return [HEALTH_BODY]
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return app


def start_metrics_server(registry: CollectorRegistry, port: int, addr: str = "127.0.0.1") -> WSGIServer:
    """Serves in a daemon thread until `server.shutdown()`; port 0 picks a free one
    (`server.server_port`)."""
    server = make_server(addr, port, metrics_app(registry), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
