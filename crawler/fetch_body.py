"""Read a response body with a hard cap counted *after* decompression.

httpx decodes gzip/deflate chunk by chunk without an output limit, so one
64 KiB network chunk of a gzip bomb can inflate to ~64 MB before a cap counted
on `aiter_bytes()` sees it. We read the raw bytes and decompress them ourselves
with `max_length`, so memory stays near the cap whatever the ratio. We only
advertise gzip and deflate; any other coding is kept as it came (capped).
"""

from __future__ import annotations

import zlib
from typing import Protocol

import httpx

__all__ = ["ACCEPT_ENCODING", "read_capped"]

ACCEPT_ENCODING = "gzip, deflate"


class _Decoder(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes: ...


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data[:limit]


class _Zlib:
    """gzip (wbits 47 detects the header) or deflate (zlib-wrapped, else raw)."""

    def __init__(self, gzip: bool):
        self._gzip = gzip
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if not self._gzip and not self._started:
            self._started = True
            try:
                return self._d.decompress(data, limit)
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._d.decompress(data, limit)


def _decoder(content_encoding: str) -> _Decoder:
    coding = content_encoding.strip().lower()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    return _Identity()


async def read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """(body, truncated): at most max_bytes decoded bytes; stops reading at the cap.

    Raises zlib.error on a corrupt compressed body (the caller's error table
    maps it to a connection error, as httpx's DecodingError would be).
    """
    decoder = _decoder(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        # +1 so that "exactly at the cap" and "over the cap" can be told apart
        out = decoder.feed(chunk, max_bytes - size + 1)
        size += len(out)
        parts.append(out)
        if size > max_bytes:
            return b"".join(parts)[:max_bytes], True
    return b"".join(parts), False
