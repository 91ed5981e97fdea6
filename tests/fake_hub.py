"""A Hugging Face hub on loopback, just enough for ``huggingface_hub.snapshot_download``.

Tests populate the real Hugging Face cache with huggingface_hub's own download code pointed at
this server (``HF_ENDPOINT``), then load from that cache offline: nothing touches the network.
Every request is recorded, so a test can prove which files were (never) fetched.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Serves ``repos`` (``{"org/name": {relative path: bytes}}``) at one commit, on
    ``self.endpoint``; ``self.requests`` lists ``(method, path)`` of everything asked."""

    def __init__(self, repos: dict[str, dict[str, bytes]]) -> None:
        self.repos = repos
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                hub._answer(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                hub._answer(self, body=False)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fetched(self) -> list[str]:
        """The repository files whose content was downloaded (GET .../resolve/...)."""
        return [
            p.split("/resolve/", 1)[1].split("/", 1)[1]
            for m, p in self.requests
            if m == "GET" and "/resolve/" in p
        ]

    def _answer(self, req: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(req.path).path)
        self.requests.append((req.command, path))
        status, headers, payload = self._route(path)
        req.send_response(status)
        for key, value in headers.items():
            req.send_header(key, value)
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        if body:
            req.wfile.write(payload)

    def _route(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo = "/".join(parts[2:4])
            files = self.repos.get(repo)
            if files is None:
                return _not_found("RepoNotFound", f"Repository {repo} not found")
            if parts[4] == "revision":
                return _json(
                    {
                        "_id": repo,
                        "id": repo,
                        "modelId": repo,
                        "sha": COMMIT,
                        "private": False,
                        "disabled": False,
                        "gated": False,
                        "downloads": 0,
                        "likes": 0,
                        "tags": [],
                        "lastModified": "2026-12-01T00:00:00.000Z",
                        "siblings": [{"rfilename": name} for name in sorted(files)],
                    }
                )
            if parts[4] == "tree":
                return _json(
                    [
                        {"type": "file", "path": name, "size": len(data), "oid": _sha1(data)}
                        for name, data in sorted(files.items())
                    ]
                )
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = "/".join(parts[:2])
            name = "/".join(parts[4:])
            data = self.repos.get(repo, {}).get(name)
            if data is None:
                return _not_found("EntryNotFound", f"{name} not found in {repo}")
            return 200, {"X-Repo-Commit": COMMIT, "ETag": f'"{_sha1(data)}"'}, data
        return _not_found("RepoNotFound", f"no route for {path}")


def _json(value: object) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _not_found(code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return (
        404,
        {"X-Error-Code": code, "X-Error-Message": message},
        json.dumps({"error": message}).encode(),
    )


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def repo_files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, by path relative to it (``/``-separated)."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
