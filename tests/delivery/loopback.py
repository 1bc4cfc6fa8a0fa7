"""A real HTTP server on 127.0.0.1, in a thread, standing in for a provider or a receiver.

Each test routes (method, path pattern) to a function of the request that returns the
answer; every request is recorded, so a test counts exactly what the stand-in received.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when it arrived

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def args(self) -> dict[str, str]:
        """The query's and (form-encoded) body's parameters: Slack takes either."""
        merged = {k: v[-1] for k, v in self.query.items()}
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            merged |= self.form()
        if self.headers.get("content-type", "").startswith("application/json"):
            merged |= json.loads(self.body)
        return merged


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict | list | str | bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


Answer = Callable[[Request, re.Match], Reply]


class Loopback:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern, Answer]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str, answer: Answer) -> None:
        self._routes.append((method, re.compile(pattern), answer))

    def received(self, method: str, pattern: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        for method, pattern, answer in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                return answer(request, match)
        return Reply(404, {"error": f"no route for {request.method} {request.path}"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                    at=time.monotonic(),
                )
                reply = loopback._answer(request)
                content, content_type = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _serve

            def log_message(self, *_args) -> None:  # the tests count requests; no log wanted
                pass

        return Handler

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def then(*first: Reply, after: Answer) -> Answer:
    """Answer with `first` replies in turn (faults, say), then with `after`."""
    queue = list(first)
    lock = threading.Lock()

    def answer(request: Request, match: re.Match) -> Reply:
        with lock:
            if queue:
                return queue.pop(0)
        return after(request, match)

    return answer


def serve() -> Iterator[Loopback]:
    """For a fixture: a started server, stopped after the test."""
    with Loopback() as server:
        yield server
