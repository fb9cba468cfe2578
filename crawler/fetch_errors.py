"""The one table from exceptions to transport Status; nothing else catches broadly.

Errors are values: `classify` turns whatever a fetch attempt raised into
(Status, detail). Order matters: the first matching row wins, so the specific
causes (DNS, TLS) are looked for in the exception chain before the generic
connection errors.
"""

from __future__ import annotations

import socket
import ssl
import zlib

import httpx

from crawler.model import Status

__all__ = ["RETRY_STATUS_CODES", "classify"]

RETRY_STATUS_CODES = frozenset({429, 500, 502, 503, 504})

# (exception type found anywhere in the __cause__/__context__ chain, Status)
_TABLE: tuple[tuple[type[BaseException], Status], ...] = (
    (TimeoutError, Status.TIMEOUT),                  # asyncio.timeout: the total deadline
    (httpx.TimeoutException, Status.TIMEOUT),        # connect/read/write/pool
    (socket.gaierror, Status.DNS_ERROR),
    (ssl.SSLError, Status.TLS_ERROR),
    (ssl.CertificateError, Status.TLS_ERROR),
    (httpx.UnsupportedProtocol, Status.INVALID_URL),
    (httpx.InvalidURL, Status.INVALID_URL),
    (httpx.TransportError, Status.CONNECTION_ERROR),  # connect/read errors, protocol errors
    (httpx.DecodingError, Status.CONNECTION_ERROR),
    (zlib.error, Status.CONNECTION_ERROR),            # corrupt compressed body
    (OSError, Status.CONNECTION_ERROR),
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def classify(exc: BaseException) -> tuple[Status, str]:
    """Map an exception to (Status, human detail). Unknown ones are named, never raised."""
    chain = _chain(exc)
    for kind, status in _TABLE:
        for link in chain:
            if isinstance(link, kind):
                return status, _detail(exc, link)
    return Status.CONNECTION_ERROR, f"unexpected {type(exc).__name__}: {exc}"


def _detail(exc: BaseException, cause: BaseException) -> str:
    text = str(exc) or str(cause) or type(cause).__name__
    name = type(exc).__name__
    return f"{name}: {text}" if cause is exc else f"{name}: {text} ({type(cause).__name__})"
