"""A small client for the Hugging Face hub's model routes, on the standard library.

It reads a repository's file listing at a revision (`/api/models/{id}/revision/{rev}?blobs=true`)
and streams files from `/{id}/resolve/{commit}/{path}`, from a byte offset when resuming. The
token goes only to the endpoint's own origin: the hub redirects large files to a CDN, and a
redirect elsewhere is followed without it."""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from nexus_image.adapters.models.errors import HubNotFound, HubUnavailable, InvalidModel

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_TIMEOUT = 30.0  # seconds to connect, and between two reads of a body
MAX_REDIRECTS = 10
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class RepoFile:
    """One file of a repository at a commit, as the hub lists it."""

    path: str
    size: int
    blob_id: str | None = None  # the git blob sha1 (of the LFS pointer, for LFS files)
    sha256: str | None = None  # LFS files only: the content's sha256


@dataclass(frozen=True, slots=True)
class RepoInfo:
    repo_id: str
    commit: str
    files: tuple[RepoFile, ...]


def check_repo_id(repo_id: str) -> str:
    """`repo_id` when it reads like the hub's `ORG/NAME`; InvalidModel otherwise."""
    if not REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        raise InvalidModel(f"not a hub repository id: {repo_id!r} (expected ORG/NAME)")
    return repo_id


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects come back as answers: the client follows them itself, deciding on the token."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class HubResponse:
    """An open answer to a file request: `status` (200, 206 or 416), `headers`, `read(n)`."""

    def __init__(self, raw: Any, what: str) -> None:
        self._raw, self.what = raw, what
        self.status: int = raw.status if hasattr(raw, "status") else raw.code
        self.headers: Message = raw.headers

    def read(self, n: int) -> bytes:
        """Up to `n` bytes as soon as some arrive; b"" at the end. Network trouble: HubUnavailable."""
        try:
            return bytes(self._raw.read1(n))
        except (OSError, http.client.HTTPException) as error:
            raise HubUnavailable(f"the download of {self.what} broke off: {error}") from error

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> HubResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HubClient:
    """Reads repositories from `endpoint` (default: HF_ENDPOINT, else the public hub) with
    `token` (default: HF_TOKEN) as a bearer token."""

    def __init__(
        self, endpoint: str | None = None, token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token if token is not None else (os.environ.get("HF_TOKEN") or None)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def model_info(self, repo_id: str, revision: str = "main") -> RepoInfo:
        """The commit `revision` points to and the files there (sizes, blob ids, LFS sha256)."""
        check_repo_id(repo_id)
        what = f"repository {repo_id} at revision {revision}"
        url = f"{self.endpoint}/api/models/{repo_id}/revision/{quote(revision, safe='')}?blobs=true"
        with self._open(url, what, {"Accept": "application/json"}) as answer:
            try:
                data = json.loads(answer.read())
            except ValueError as error:
                raise HubUnavailable(f"the hub's answer about {what} is not JSON") from error
            except (OSError, http.client.HTTPException) as error:
                raise HubUnavailable(f"the hub's answer about {what} broke off: {error}") from error
        try:
            files = tuple(_repo_file(sibling) for sibling in data["siblings"])
            return RepoInfo(repo_id=repo_id, commit=str(data["sha"]), files=files)
        except (KeyError, TypeError, ValueError) as error:
            raise HubUnavailable(f"the hub's answer about {what} lacks {error}") from error

    def file_url(self, repo_id: str, commit: str, path: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(commit, safe='')}/{quote(path)}"

    def open_file(self, repo_id: str, commit: str, path: str, start: int = 0) -> HubResponse:
        """The file's bytes from offset `start` (a `Range` request when above 0): the answer is
        206 when the server resumed, 200 when it sends the whole file, 416 when `start` is past
        its end."""
        headers = {"Range": f"bytes={start}-"} if start > 0 else {}
        what = f"{path} of {repo_id}"
        return HubResponse(self._open(self.file_url(repo_id, commit, path), what, headers, (416,)), what)

    def _open(self, url: str, what: str, headers: dict[str, str], accept: tuple[int, ...] = ()) -> Any:
        home = _origin(self.endpoint)
        for _ in range(MAX_REDIRECTS + 1):
            request = urllib.request.Request(url, headers={**headers, "User-Agent": "nexus-image"})
            if self.token and _origin(url) == home:
                request.add_header("Authorization", f"Bearer {self.token}")
            try:
                return self._opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as answer:
                location = answer.headers.get("Location")
                if answer.code in REDIRECTS and location:
                    answer.close()
                    url = urljoin(url, location)
                    continue
                if answer.code in accept:
                    return answer
                answer.close()
                raise self._refusal(answer.code, answer.headers, what) from None
            except (OSError, http.client.HTTPException) as error:
                reason, where = getattr(error, "reason", error), urlsplit(url)
                raise HubUnavailable(
                    f"cannot reach the hub at {where.scheme}://{where.netloc} for {what}: {reason}"
                ) from error
        raise HubUnavailable(f"too many redirects for {what}")

    def _refusal(self, code: int, headers: Message, what: str) -> Exception:
        told = headers.get("X-Error-Message")
        detail = f": {told}" if told else ""
        if code in (401, 403):
            hint = "the token given was refused" if self.token else "pass a token with --token or HF_TOKEN"
            return HubNotFound(
                f"the hub refused access to {what} ({code}{detail}): the repository may be private, gated "
                f"or missing; {hint}"
            )
        if code == 404:
            return HubNotFound(f"{what} not found on {self.endpoint} (404{detail})")
        if code == 429 or code >= 500:
            return HubUnavailable(f"the hub answered {code} for {what}{detail}; try again later")
        return HubUnavailable(f"the hub answered {code} for {what}{detail}")


def _repo_file(sibling: dict[str, Any]) -> RepoFile:
    lfs = sibling.get("lfs") or None
    path = str(sibling["rfilename"])
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError(f"a safe file name (got {path!r})")
    size = int(lfs["size"]) if lfs else int(sibling["size"])
    return RepoFile(
        path=path,
        size=size,
        blob_id=sibling.get("blobId"),
        sha256=str(lfs["sha256"]) if lfs else None,
    )
