"""A tiny fixture web on loopback: real sockets, real headers, real timing.

`Site("127.0.0.3")` is one host (a ThreadingHTTPServer on port 0 in a daemon
thread). Several sites on 127.0.0.2, .3, ... are several hosts. Each site logs
every request it saw (path, headers, monotonic arrival, in-flight count), so
politeness tests assert on what the *server* observed.

Routes map an exact path (with query) to either a `Response` or a callable
`fn(handler) -> Response | None`; a callable may write to `handler.wfile`
itself (hostile behaviours) and return None. Unknown paths use `fallback`
(default: an honest 404).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Union


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # server latency before answering


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    t: float                    # time.monotonic() at arrival
    in_flight: int              # requests in flight on this site at arrival (incl. this one)


Route = Union[Response, Callable[["_Handler"], Union[Response, None]]]


def html_page(title: str = "", body: str = "", head: str = "", charset: str = "utf-8",
              lang: str = "en") -> bytes:
    doc = (f'<!doctype html><html lang="{lang}"><head><meta charset="{charset}">'
           f"<title>{title}</title>{head}</head><body>{body}</body></html>")
    return doc.encode(charset if charset.lower() != "shift_jis" else "cp932")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: object) -> None:   # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        site = self.server.site
        with site._lock:
            site._in_flight += 1
            site.peak_in_flight = max(site.peak_in_flight, site._in_flight)
            site.log.append(Hit(self.command, self.path,
                                {k.lower(): v for k, v in self.headers.items()},
                                time.monotonic(), site._in_flight))
        try:
            route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
            if route is None:
                route = site.fallback
            resp = route(self) if callable(route) else route
            if resp is not None:
                self.send(resp)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with site._lock:
                site._in_flight -= 1

    def send(self, resp: Response) -> None:
        if resp.delay:
            time.sleep(resp.delay)
        self.send_response(resp.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **resp.headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-exchange (caps, timeouts) is expected, not news."""
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Site:
    """One host of the fixture web."""

    def __init__(self, host: str = "127.0.0.2", port: int = 0):
        self.host = host
        self.routes: dict[str, Route] = {}
        self.fallback: Route = Response(404, html_page("404 Not Found", "<h1>Not Found</h1>"))
        self.log: list[Hit] = []
        self.peak_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- addresses ---------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    # -- building the site (500lines-style helpers) ------------------------
    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def page(self, path: str, title: str = "Page", body: str = "", head: str = "",
             status: int = 200, headers: dict[str, str] | None = None,
             charset: str = "utf-8", delay: float = 0.0) -> str:
        content = html_page(title, body or f"<h1>{title}</h1><p>{title} text.</p>", head, charset)
        hdrs = {"Content-Type": f"text/html; charset={charset}"} if charset == "utf-8" else {
            "Content-Type": "text/html"}
        hdrs.update(headers or {})
        return self.route(path, Response(status, content, hdrs, delay))

    def raw(self, path: str, body: bytes, status: int = 200,
            headers: dict[str, str] | None = None) -> str:
        return self.route(path, Response(status, body, headers or {}))

    def status(self, path: str, code: int, headers: dict[str, str] | None = None,
               body: bytes = b"") -> str:
        return self.route(path, Response(code, body or html_page(str(code)), headers or {}))

    def redirect(self, path: str, to: str, code: int = 301) -> str:
        return self.route(path, Response(code, b"", {"Location": to}))

    def robots(self, text: str, status: int = 200) -> str:
        return self.route("/robots.txt", Response(status, text.encode(),
                                                  {"Content-Type": "text/plain"}))

    def etag(self, path: str, tag: str, body: bytes, last_modified: str | None = None) -> str:
        """A page that answers 304 to a matching If-None-Match / If-Modified-Since."""
        headers = {"ETag": tag}
        if last_modified:
            headers["Last-Modified"] = last_modified

        def serve(h: _Handler) -> Response:
            inm = h.headers.get("If-None-Match")
            ims = h.headers.get("If-Modified-Since")
            if inm == tag or (inm is None and last_modified and ims == last_modified):
                return Response(304, b"", headers)
            return Response(200, body, headers)
        return self.route(path, serve)

    # -- hostile catalog (Scrapy-style named behaviours) -------------------
    def hang(self, path: str, seconds: float = 5.0) -> str:
        def serve(h: _Handler) -> None:
            time.sleep(seconds)
            h.close_connection = True
        return self.route(path, serve)

    def slow_drip(self, path: str, interval: float = 0.2, total: int = 10_000) -> str:
        """Headers at once, then one byte every `interval` s: never trips a read timeout."""
        def serve(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(total))
            h.end_headers()
            for _ in range(total):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(interval)
        return self.route(path, serve)

    def endless(self, path: str, chunk: int = 65536, limit: int = 200 * 2**20) -> str:
        """A chunked body that goes on (bounded at `limit` so the test server stops too)."""
        def serve(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            head = b"<html><head><title>Endless</title></head>"
            h.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
            block = b"a" * chunk
            sent = 0
            while sent < limit:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
            h.wfile.write(b"0\r\n\r\n")
        return self.route(path, serve)

    def gzip_bomb(self, path: str, size: int = 1 << 30) -> str:
        """A small gzip body that inflates to `size` bytes (default 1 GiB)."""
        bomb = _gzip_zeros(size)
        return self.route(path, Response(200, bomb, {"Content-Encoding": "gzip",
                                                     "Content-Type": "text/html"}))

    def redirect_loop(self, a: str, b: str) -> str:
        self.redirect(a, b, 302)
        self.redirect(b, a, 302)
        return self.url(a)

    def storm_429(self, path: str, retry_after: str | None = "1") -> str:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return self.route(path, Response(429, html_page("Too Many Requests"), headers))

    def sequence(self, path: str, *responses: Response) -> str:
        """Answer with each response in turn; the last one repeats."""
        items = list(responses)

        def serve(h: _Handler) -> Response:
            return items.pop(0) if len(items) > 1 else items[0]
        return self.route(path, serve)

    def drop(self, path: str) -> str:
        """Read the request, then close the connection without a word (connection error)."""
        def serve(h: _Handler) -> None:
            h.close_connection = True
        return self.route(path, serve)

    def gate(self, path: str, barrier: threading.Barrier, timeout: float = 2.0) -> str:
        """Answer 200 only once `barrier.parties` requests (any sites) are inside at once.

        Proves overlap without a timing assertion: without concurrency the
        barrier times out and the answer is 500.
        """
        def serve(h: _Handler) -> Response:
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                return Response(500, b"no overlap")
            return Response(200, html_page("together"))
        return self.route(path, serve)

    # -- observing ---------------------------------------------------------
    def hits(self, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.log if path is None or h.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_BOMBS: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> bytes:
    if size not in _BOMBS:
        import io
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
            block = b"\0" * (1 << 20)
            for _ in range(size // len(block)):
                gz.write(block)
        _BOMBS[size] = buf.getvalue()
    return _BOMBS[size]
