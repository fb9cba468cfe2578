"""Snapshots: every fetched page as WARC/1.1 request + response records, indexed in the store.

Why this shape:
- One gzip WARC per run, one gzip member per record, so a record is read back
  by (file, offset, length) from the `snapshots` table without scanning.
- A payload seen before (any run, any URL) is stored once: later captures are
  `revisit` records by payload digest, found through the index.
- Crash safety: the file is `<name>.warc.gz.open` until closed; each
  request/response pair is flushed and fsynced before its index rows are
  committed. `recover()` cuts a killed run's file back to the last indexed
  byte and gives it its final name, so files and index always agree.
- warcio's `capture_http` patches http.client, which httpx does not use, so
  records are built directly from `Fetched`.
- Reading a capture back (`crawler snapshot`) is warc_read's job: it needs only
  the index and one seek, none of the writing machinery.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import os
import re
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit

from sqlite_utils import Database
from warcio.recordloader import ArcWarcRecord  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.utils import Digester  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from crawler.model import Fetched, isonow

__all__ = ["SnapshotRef", "WarcWriter", "ensure_tables", "is_noarchive", "open_name", "recover",
           "snapshot_ref"]

OPEN_SUFFIX = ".open"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
SOFTWARE = "crawler (source-citation verification crawler)"
META_SCAN_BYTES = 128 * 1024      # a robots <meta> lives in <head>; don't scan whole pages
# Headers describing the wire encoding, not the decoded body we store: kept under a
# renamed key so replay tools do not try to gunzip or de-chunk plain bytes. Only the
# codings fetch_body decodes count; any other coding is still on the body, so its
# header stays.
_WIRE_HEADERS = ("transfer-encoding", "content-length")
_DECODED_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "identity"})
_ORIG_PREFIX = "x-crawler-orig-"

_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-z][a-z0-9_:-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """Where one stored capture lives: enough to read it back with one seek."""

    id: int
    url: str
    target_uri: str
    record_type: str          # "response" or "revisit"
    digest: str
    file: str
    offset: int
    length: int
    fetched_at: str


def ensure_tables(db: Database) -> None:
    """Create the `snapshots` index (one row per WARC record) if it is missing."""
    db.table("snapshots").create({
        "id": int, "run_id": int, "url": str, "target_uri": str, "record_type": str,
        "record_id": str, "fetched_at": str, "status_code": int, "digest": str,
        "truncated": int, "refers_to": int, "file": str, "offset": int, "length": int,
    }, pk="id", not_null={"url", "record_type", "file", "offset", "length"},
        if_not_exists=True)
    for cols in (["url", "fetched_at"], ["target_uri", "fetched_at"], ["digest"], ["file"]):
        db.table("snapshots").create_index(cols, if_not_exists=True)


def is_noarchive(headers: Mapping[str, str], body: bytes) -> bool:
    """True when the page asks not to be archived (X-Robots-Tag or robots <meta>)."""
    if "noarchive" in headers.get("x-robots-tag", "").lower():
        return True
    for tag in _META_TAG.finditer(body[:META_SCAN_BYTES]):
        attrs = {k.lower(): v.strip(b"\"'").lower() for k, v in _ATTR.findall(tag.group())}
        if attrs.get(b"name") == b"robots" and b"noarchive" in attrs.get(b"content", b""):
            return True
    return False


class WarcWriter:
    """Writes one run's snapshots to `<dir>/crawler-run<id>-<time>.warc.gz`.

    Use as a context manager; `write()` is thread-safe, so the pipeline may call
    it via `asyncio.to_thread` (each call fsyncs).
    """

    def __init__(self, dir: Path, db: Database, run_id: int, archive_all: bool = False,
                 *, fsync: bool = True) -> None:
        self.dir, self.db, self.run_id = Path(dir), db, run_id
        self.archive_all, self.fsync = archive_all, fsync
        self.path: Path | None = None          # final name; the file is path + ".open" until close
        self._out: IO[bytes] | None = None
        self._writer = WARCWriter(None, gzip=True, warc_version="1.1")
        self._lock = threading.Lock()
        self.errors: list[str] = []            # pages that could not be archived, and why

    def __enter__(self) -> Self:
        self.dir.mkdir(parents=True, exist_ok=True)
        ensure_tables(self.db)
        recover(self.dir, self.db)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, fetched: Fetched, request_headers: Mapping[str, str]) -> SnapshotRef | None:
        """Store one answered fetch as request + response (or revisit) records.

        None when nothing was answered, the page says noarchive, a 304 has no
        earlier copy of its payload in the index to point at, or the write failed
        (the partial bytes are cut off again and the reason is kept in `errors`).
        """
        if not fetched.answered or (not self.archive_all
                                    and is_noarchive(fetched.headers, fetched.body)):
            return None
        digest = payload_digest(fetched.body)
        with self._lock:
            try:
                original = self._original(digest) if fetched.body else None
                if fetched.status_code == 304 and original is None:
                    return None      # a 304 carries no payload of its own to store
                return self._write_pair(fetched, request_headers, digest, original)
            except (OSError, sqlite3.Error) as e:   # disk full, store busy: verify anyway
                self.errors.append(f"{fetched.url}: not archived: {type(e).__name__}: {e}")
                return None

    def _write_pair(self, fetched: Fetched, request_headers: Mapping[str, str], digest: str,
                    original: dict[str, Any] | None) -> SnapshotRef:
        """Append response + request, fsync, then index; on any failure cut the file back."""
        out = self._open()
        start = out.tell()
        try:
            resp = _response_record(self._writer, fetched, digest, original)
            req = _request_record(self._writer, fetched, request_headers, resp)
            spans = [self._append(out, resp), self._append(out, req)]
            self._sync(out)
            return self._index(fetched, digest, original, resp, req, spans)
        except BaseException:
            out.seek(start)
            out.truncate()
            raise

    def close(self) -> None:
        """Finish the file: fsync, drop the `.open` suffix, release the lock."""
        with self._lock:
            if self._out is None or self.path is None:
                return
            self._sync(self._out)
            self._out.close()
            self._out = None
            os.replace(open_name(self.path), self.path)

    # -- internals ---------------------------------------------------------
    def _open(self) -> IO[bytes]:
        """Create the run's file lazily (no pages archived, no file) and lock it."""
        if self._out is not None:
            return self._out
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")   # unique per writer
        name = f"crawler-run{self.run_id}-{stamp}-{os.getpid()}.warc.gz"
        self.path = (self.dir / name).resolve()
        out = open(open_name(self.path), "xb")  # noqa: SIM115  (lives until close())
        fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._out = out
        info = {"software": SOFTWARE, "format": "WARC File Format 1.1",
                "isPartOf": f"crawler run {self.run_id}"}
        self._writer.out = out
        self._writer.write_record(self._writer.create_warcinfo_record(name, info))
        return out

    def _append(self, out: IO[bytes], record: ArcWarcRecord) -> tuple[int, int]:
        start = out.tell()
        self._writer.out = out
        self._writer.write_record(record)
        return start, out.tell() - start

    def _sync(self, out: IO[bytes]) -> None:
        out.flush()
        if self.fsync:
            os.fsync(out.fileno())

    def _original(self, digest: str) -> dict[str, Any] | None:
        rows = self.db.execute(
            "select * from snapshots where digest = ? and record_type = 'response' "
            "order by id limit 1", [digest])
        row = rows.fetchone()
        return dict(zip([d[0] for d in rows.description], row)) if row else None

    def _index(self, fetched: Fetched, digest: str, original: dict[str, Any] | None,
               resp: ArcWarcRecord, req: ArcWarcRecord,
               spans: list[tuple[int, int]]) -> SnapshotRef:
        """Index rows go in only now, after the bytes are on disk (one transaction)."""
        base = {"run_id": self.run_id, "url": fetched.url, "target_uri": _target(fetched),
                "fetched_at": fetched.fetched_at or isonow(), "status_code": fetched.status_code,
                "truncated": int(fetched.truncated), "file": str(self.path)}
        rows = [{**base, "record_type": resp.rec_type, "digest": digest,
                 "refers_to": original["id"] if original else None,
                 "record_id": resp.rec_headers.get_header("WARC-Record-ID"),
                 "offset": spans[0][0], "length": spans[0][1]},
                {**base, "record_type": "request", "digest": "", "refers_to": None,
                 "record_id": req.rec_headers.get_header("WARC-Record-ID"),
                 "offset": spans[1][0], "length": spans[1][1]}]
        with self.db.atomic():
            table = self.db.table("snapshots")
            first = table.insert(rows[0]).last_pk
            table.insert(rows[1])
        return snapshot_ref({**rows[0], "id": first})


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio would compute (sha1, base32), used for dedup."""
    d = Digester("sha1")
    d.update(body)
    return str(d)


def _target(fetched: Fetched) -> str:
    return fetched.final_url or fetched.url


def _warc_date(iso: str) -> str:
    """WARC-Date (UTC, 'Z'); the fetch time, not the write time."""
    when = dt.datetime.fromisoformat(iso) if iso else dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_response_headers(fetched: Fetched) -> StatusAndHeaders:
    try:
        phrase = HTTPStatus(fetched.status_code).phrase
    except ValueError:
        phrase = "Unknown"
    headers = [(_ORIG_PREFIX + k if _wire_only(k, v) else k, v) for k, v in fetched.headers.items()]
    headers.append(("Content-Length", str(len(fetched.body))))
    return StatusAndHeaders(f"{fetched.status_code} {phrase}", headers, protocol="HTTP/1.1")


def _wire_only(name: str, value: str) -> bool:
    name = name.lower()
    if name == "content-encoding":
        return {c.strip().lower() for c in value.split(",")} <= _DECODED_CODINGS
    return name in _WIRE_HEADERS


def _response_record(w: WARCWriter, fetched: Fetched, digest: str,
                     original: dict[str, Any] | None) -> ArcWarcRecord:
    uri = _target(fetched)
    warc_headers = {"WARC-Date": _warc_date(fetched.fetched_at)}
    if fetched.remote_addr:
        warc_headers["WARC-IP-Address"] = re.sub(r"^([\d.]+):\d+$", r"\1", fetched.remote_addr)
    if fetched.truncated:
        warc_headers["WARC-Truncated"] = "length"
    http = _http_response_headers(fetched)
    if original is None:
        return w.create_warc_record(uri, "response", payload=io.BytesIO(fetched.body),
                                    length=len(fetched.body), http_headers=http,
                                    warc_headers_dict=warc_headers)
    warc_headers["WARC-Refers-To"] = original["record_id"]
    record = w.create_revisit_record(uri, digest, original["target_uri"],
                                     _warc_date(original["fetched_at"]), http_headers=http,
                                     warc_headers_dict=warc_headers)
    if fetched.status_code == 304:           # revalidated from our cache: WARC 1.1 sec. 6.7.3
        record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
    return record


def _request_record(w: WARCWriter, fetched: Fetched, request_headers: Mapping[str, str],
                    resp: ArcWarcRecord) -> ArcWarcRecord:
    parts = urlsplit(_target(fetched))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [(k, v) for k, v in request_headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    http = StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)
    warc_headers = {"WARC-Date": resp.rec_headers.get_header("WARC-Date"),
                    "WARC-Concurrent-To": resp.rec_headers.get_header("WARC-Record-ID")}
    return w.create_warc_record(_target(fetched), "request", http_headers=http,
                                warc_headers_dict=warc_headers)


def open_name(path: Path) -> Path:
    """The name a WARC file has while its run is still writing it."""
    return path.with_name(path.name + OPEN_SUFFIX)


def snapshot_ref(row: Mapping[str, Any]) -> SnapshotRef:
    """A `snapshots` index row as a SnapshotRef."""
    return SnapshotRef(row["id"], row["url"], row["target_uri"], row["record_type"],
                       row["digest"], row["file"], row["offset"], row["length"],
                       row["fetched_at"])


def recover(dir: Path, db: Database) -> list[Path]:
    """Make files left by a killed run valid: cut to the last indexed byte, then rename.

    Bytes after the last indexed record were never acknowledged (their index rows
    were not committed), so dropping them keeps file and index in agreement. A
    file still locked by a live writer is left alone.
    """
    ensure_tables(db)
    done = []
    for part in sorted(Path(dir).glob("*.warc.gz" + OPEN_SUFFIX)):
        final = part.resolve().with_name(part.name[: -len(OPEN_SUFFIX)])
        with open(part, "r+b") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            # by name, not full path: the project (and its cache) may have moved since
            end = db.execute("select max(offset + length) from snapshots where file = ?"
                             " or file like ?", [str(final), f"%/{final.name}"]).fetchone()[0] or 0
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
        if end:
            os.replace(part, final)
            done.append(final)
        else:
            part.unlink()
    return done
