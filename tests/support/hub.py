"""A local stand-in for the Hugging Face hub's model routes, serving repositories from folders.

It answers what a hub client asks: `GET /api/models/{id}[/revision/{rev}]` (the commit and the
files with size, git blob id and, for weights, LFS sha256) and `GET|HEAD /{id}/resolve/{rev}/{path}`
with ETag, X-Repo-Commit, X-Linked-Etag/X-Linked-Size and byte ranges (206). Like the hub, LFS
files are redirected to another host (the CDN, here `localhost` beside `127.0.0.1`), so a test
sees whether the token followed. Knobs: a throttle, a required token, files served corrupted,
sizes advertised larger than real, servers that ignore Range; every request is logged.

In a test: `with HubEmulator({"org/tiny": folder}) as hub: ... hub.url ... hub.requests`.
As a process: `python -m tests.support.hub --port P --repo ORG/NAME=FOLDER ...` prints its URL."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx")
LFS_MIN_SIZE = 10 * 1000 * 1000  # the hub keeps larger files in LFS whatever their name
RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass(frozen=True, slots=True)
class Logged:
    """One request as the emulator saw it."""

    method: str
    path: str  # unquoted, without the query
    range: str | None  # the Range header
    authorization: str | None
    host: str


@dataclass(frozen=True, slots=True)
class Served:
    path: str
    content_path: Path
    size: int
    sha256: str
    blob_id: str
    lfs: bool


@dataclass
class Repo:
    folder: Path
    files: dict[str, Served] = field(default_factory=dict)
    commit: str = ""


def git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _scan(folder: Path) -> Repo:
    repo = Repo(folder)
    for item in sorted(folder.rglob("*")):
        relative = item.relative_to(folder).as_posix()
        if not item.is_file() or any(part.startswith(".") for part in relative.split("/")):
            continue
        content = item.read_bytes()
        sha256 = hashlib.sha256(content).hexdigest()
        lfs = item.suffix in LFS_SUFFIXES or len(content) >= LFS_MIN_SIZE
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(content)}\n"
        blob = git_blob_sha1(pointer.encode() if lfs else content)
        repo.files[relative] = Served(relative, item, len(content), sha256, blob, lfs)
    listing = "\n".join(f"{f.path} {f.blob_id}" for f in repo.files.values())
    repo.commit = hashlib.sha1(listing.encode()).hexdigest()
    return repo


class HubEmulator:
    def __init__(
        self,
        repos: dict[str, Path] | None = None,
        *,
        token: str | None = None,
        bytes_per_second: int | None = None,
        port: int = 0,
        cdn_host: str | None = "localhost",
    ) -> None:
        self.token = token  # required on /api and /resolve when set (401 without)
        self.bytes_per_second = bytes_per_second
        self.corrupted: set[tuple[str, str]] = set()  # (repo, path): one byte changed, listing unchanged
        self.advertised: dict[tuple[str, str], int] = {}  # (repo, path) -> size the listing claims
        self.ignore_range = False  # answer 200 with the whole file, as some servers do
        self.cdn_host = cdn_host  # LFS files redirect there (None: served in place)
        self.requests: list[Logged] = []
        self._repos: dict[str, Repo] = {}
        self._lock = threading.Lock()
        for repo_id, folder in (repos or {}).items():
            self.add_repo(repo_id, folder)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_repo(self, repo_id: str, folder: Path) -> str:
        """Serves `folder` as `repo_id`; returns its commit."""
        repo = _scan(Path(folder))
        with self._lock:
            self._repos[repo_id] = repo
        return repo.commit

    def commit(self, repo_id: str) -> str:
        return self._repos[repo_id].commit

    def start(self) -> HubEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="hub-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def file_requests(self, path: str | None = None) -> list[Logged]:
        """Requests for file content (resolve and CDN), for one path when given."""
        found = [r for r in self.requests if "/resolve/" in r.path or r.path.startswith("/cdn/")]
        return [r for r in found if path is None or r.path.endswith(f"/{path}")]

    # --- answers ---------------------------------------------------------------------------------

    def log(self, entry: Logged) -> None:
        with self._lock:
            self.requests.append(entry)

    def repo(self, repo_id: str) -> Repo | None:
        with self._lock:
            return self._repos.get(repo_id)

    def listing(self, repo_id: str, repo: Repo) -> dict[str, Any]:
        siblings = []
        for served in repo.files.values():
            size = self.advertised.get((repo_id, served.path), served.size)
            sibling: dict[str, Any] = {"rfilename": served.path, "size": size, "blobId": served.blob_id}
            if served.lfs:
                sibling["lfs"] = {"sha256": served.sha256, "size": size, "pointerSize": 130}
            siblings.append(sibling)
        return {"id": repo_id, "modelId": repo_id, "sha": repo.commit, "private": False, "siblings": siblings}

    def content(self, repo_id: str, served: Served) -> bytes:
        data = bytearray(served.content_path.read_bytes())
        if (repo_id, served.path) in self.corrupted and data:
            data[len(data) // 2] ^= 0xFF
        return bytes(data)


def _handler(hub: HubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            if hub_is_process:
                sys.stderr.write(f"{self.command} {self.path} {self.headers.get('Range') or ''}\n")

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.log(
                Logged(
                    self.command,
                    path,
                    self.headers.get("Range"),
                    self.headers.get("Authorization"),
                    self.headers.get("Host", ""),
                )
            )
            try:
                if path.startswith("/cdn/"):
                    self._cdn(path, body)
                elif path.startswith("/api/models/"):
                    self._info(path)
                elif "/resolve/" in path:
                    self._resolve(path, body)
                else:
                    self._error(404, "EntryNotFound", "no such route")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _authorized(self) -> bool:
            if hub.token is None or self.headers.get("Authorization") == f"Bearer {hub.token}":
                return True
            self._error(401, "RepoNotFound", "Invalid credentials in Authorization header")
            return False

        def _error(self, code: int, kind: str, message: str) -> None:
            data = json.dumps({"error": message}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Code", kind)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _at(self, repo_id: str, revision: str) -> Repo | None:
            repo = hub.repo(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", f"Repository not found: {repo_id}")
                return None
            if revision not in ("main", repo.commit):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return None
            return repo

        def _info(self, path: str) -> None:
            found = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
            if found is None:
                self._error(404, "RepoNotFound", "no such repository")
                return
            if not self._authorized():
                return
            repo_id, revision = found[1], found[2] or "main"
            repo = self._at(repo_id, revision)
            if repo is None:
                return
            data = json.dumps(hub.listing(repo_id, repo)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _resolve(self, path: str, body: bool) -> None:
            found = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if found is None:
                self._error(404, "EntryNotFound", "bad resolve path")
                return
            if not self._authorized():
                return
            repo_id, revision, file_path = found[1], found[2], found[3]
            repo = self._at(repo_id, revision)
            if repo is None:
                return
            served = repo.files.get(file_path)
            if served is None:
                self._error(404, "EntryNotFound", f"{file_path} does not exist at {revision}")
                return
            headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{served.blob_id}"'}
            if served.lfs:
                size = hub.advertised.get((repo_id, served.path), served.size)
                headers |= {"X-Linked-Etag": f'"{served.sha256}"', "X-Linked-Size": str(size)}
                if hub.cdn_host is not None:
                    location = (
                        f"http://{hub.cdn_host}:{hub.port}/cdn/{repo_id}/{repo.commit}/{quote(file_path)}"
                    )
                    self.send_response(302)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers["ETag"] = f'"{served.sha256}"'
            self._send(hub.content(repo_id, served), headers, body)

        def _cdn(self, path: str, body: bool) -> None:
            found = re.fullmatch(r"/cdn/([^/]+/[^/]+)/([0-9a-f]{40})/(.+)", path)
            repo = hub.repo(found[1]) if found else None
            if found is None or repo is None or repo.commit != found[2] or found[3] not in repo.files:
                self._error(404, "EntryNotFound", "no such object")
                return
            served = repo.files[found[3]]
            self._send(hub.content(found[1], served), {"ETag": f'"{served.sha256}"'}, body)

        def _send(self, data: bytes, headers: dict[str, str], body: bool) -> None:
            asked = RANGE.fullmatch(self.headers.get("Range") or "")
            start, end, status = 0, len(data) - 1, 200
            if asked and not hub.ignore_range:
                start = int(asked[1])
                end = min(int(asked[2]), len(data) - 1) if asked[2] else len(data) - 1
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if body:
                self._stream(data[start : end + 1])

        def _stream(self, data: bytes) -> None:
            offset = 0
            while offset < len(data):
                rate = hub.bytes_per_second
                step = max(1, rate // 20) if rate else len(data)
                self.wfile.write(data[offset : offset + step])
                self.wfile.flush()
                offset += step
                if rate:
                    time.sleep(step / rate)

    return Handler


hub_is_process = False


def main(argv: list[str] | None = None) -> None:
    global hub_is_process
    parser = argparse.ArgumentParser(prog="python -m tests.support.hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--repo", action="append", default=[], metavar="ORG/NAME=FOLDER", required=True)
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--bytes-per-second", type=int, default=None)
    parser.add_argument("--corrupt", action="append", default=[], metavar="ORG/NAME:PATH")
    parser.add_argument("--advertise", action="append", default=[], metavar="ORG/NAME:PATH=SIZE")
    args = parser.parse_args(argv)
    hub_is_process = True
    repos = {spec.partition("=")[0]: Path(spec.partition("=")[2]) for spec in args.repo}
    hub = HubEmulator(repos, token=args.token, bytes_per_second=args.bytes_per_second, port=args.port)
    for spec in args.corrupt:
        repo_id, _, path = spec.partition(":")
        hub.corrupted.add((repo_id, path))
    for spec in args.advertise:
        where, _, size = spec.rpartition("=")
        repo_id, _, path = where.partition(":")
        hub.advertised[(repo_id, path)] = int(size)
    print(hub.url, flush=True)
    try:
        hub._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()


def fake_pipeline(folder: Path, weight_size: int = 4096, seed: int = 0) -> Path:
    """A folder shaped like a diffusers Stable Diffusion repository, with random bytes for
    weights (nothing loads it: for tests of what is fetched and how), and the extras a real
    repository carries beside the pipeline: fp16 variants, .bin copies, a root .ckpt, a
    safety checker, a README."""
    import random

    rng = random.Random(seed)

    def write(path: str, data: bytes | str) -> None:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    def weights(size: int = weight_size) -> bytes:
        return rng.randbytes(size)

    index = {
        "_class_name": "StableDiffusionPipeline",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    write("model_index.json", json.dumps(index, indent=2))
    for component, base in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model")):
        write(f"{component}/config.json", json.dumps({"component": component}))
        write(f"{component}/{base}.safetensors", weights())
        write(f"{component}/{base}.fp16.safetensors", weights(weight_size // 2))
        write(f"{component}/{base}.bin", weights())
        write(f"{component}/diffusion_flax_model.msgpack", weights(64))
    write("text_encoder/config.json", "{}")
    write("text_encoder/model.safetensors", weights())
    write("text_encoder/pytorch_model.bin", weights())  # no fp16 variant: the plain file it is
    write("tokenizer/vocab.json", "{}")
    write("tokenizer/merges.txt", "#version: 0.2\n")
    write("tokenizer/tokenizer_config.json", "{}")
    write("scheduler/scheduler_config.json", "{}")
    write("feature_extractor/preprocessor_config.json", "{}")
    write("safety_checker/config.json", "{}")
    write("safety_checker/model.safetensors", weights(256))
    write("v1-5-pruned-emaonly.ckpt", weights(256))
    write("v1-5-pruned-emaonly.safetensors", weights(256))
    write("README.md", "# a model\n")
    return folder
