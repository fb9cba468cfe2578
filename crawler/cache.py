"""On-disk HTTP cache: validators per URL, bodies content-addressed by sha256.

Layout under cache_dir:
  entries/<sha256(url)>.json   {"url", "etag", "last_modified", "body_sha256", "headers", "stored_at"}
  bodies/<sha256(body)>        the body bytes; shared by URLs with identical pages
Every write is tmp + os.replace, so a killed run leaves either the old file or
the new one. An entry that does not parse, or whose body is missing or does not
hash to its name, is discarded and the URL is fetched unconditionally.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from crawler.model import isonow

__all__ = ["Cache", "Entry"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    url: str
    etag: str = ""
    last_modified: str = ""
    body_sha256: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def conditional_headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


class Cache:
    """Validators and bodies on disk; all methods are small synchronous file operations."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._entries = self.root / "entries"
        self._bodies = self.root / "bodies"
        self.write_errors: list[str] = []       # OSErrors from store(), for a run summary

    def _entry_path(self, url: str) -> Path:
        return self._entries / f"{_sha(url.encode())}.json"

    def lookup(self, url: str) -> tuple[Entry, bytes] | None:
        """The entry and its verified body, or None (corrupt entries are removed)."""
        path = self._entry_path(url)
        try:
            raw = json.loads(path.read_text("utf-8"))
            entry = Entry(url=raw["url"], etag=raw.get("etag", ""),
                          last_modified=raw.get("last_modified", ""),
                          body_sha256=raw["body_sha256"], headers=dict(raw.get("headers", {})))
            body = (self._bodies / entry.body_sha256).read_bytes()
        except FileNotFoundError:
            if path.exists():            # entry without its body
                self.discard(url)
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.discard(url)
            return None
        if entry.url != url or _sha(body) != entry.body_sha256:
            self.discard(url)
            return None
        return entry, body

    def store(self, url: str, headers: dict[str, str], body: bytes) -> bool:
        """Keep body + validators when the answer has any; True when stored.

        A cache that cannot be written (full disk, read-only, a file where the
        directory should be) costs the next run a full download, nothing more:
        the page in hand must not be lost over it, so OSError means 'not stored'.
        """
        etag, modified = headers.get("etag", ""), headers.get("last-modified", "")
        if not (etag or modified):
            return False
        try:
            self._write(url, etag, modified, headers, body)
        except OSError as exc:
            self.write_errors.append(f"{type(exc).__name__}: {exc}")
            return False
        return True

    def _write(self, url: str, etag: str, modified: str, headers: dict[str, str],
               body: bytes) -> None:
        digest = _sha(body)
        body_path = self._bodies / digest
        if not body_path.exists():
            _atomic_write(body_path, body)
        record = {"url": url, "etag": etag, "last_modified": modified, "body_sha256": digest,
                  "headers": headers, "stored_at": isonow()}
        _atomic_write(self._entry_path(url), json.dumps(record).encode())

    def discard(self, url: str) -> None:
        try:
            self._entry_path(url).unlink(missing_ok=True)
        except OSError:
            pass                                  # unreadable *and* undeletable: still a miss


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
