"""Snapshots read back: the stored capture of a URL closest to a date, from the WARC files.

Why this shape:
- The `snapshots` index says where each record is, so a capture is read by
  (file, offset, length): one seek, one gzip member, no scan of the file.
- A `revisit` record has no payload of its own (it was seen before): the bytes
  come from the original record it refers to.
- The WARC files may have moved with the project (`warc_dir`), or still be
  written by a running check (the `.open` name): both are found.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.recordloader import ArcWarcRecord  # type: ignore[import-untyped]

from crawler.warc import SnapshotRef, ensure_tables, open_name, snapshot_ref

__all__ = ["Snapshot", "read_snapshot"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A capture read back: WARC headers, HTTP status line + headers, exact payload bytes."""

    ref: SnapshotRef
    record_headers: list[tuple[str, str]]
    status_line: str
    http_headers: list[tuple[str, str]]
    payload: bytes


def read_snapshot(db: Database, url: str, at: dt.date | None = None, *,
                  warc_dir: Path | None = None) -> Snapshot | None:
    """The stored capture of `url` (cited or final URL) closest to `at`; latest when None.

    Reads exactly one record by offset; a revisit's payload comes from its original.
    `warc_dir` overrides the directory recorded in the index (moved cache).
    """
    ensure_tables(db)
    rows = list(db.query(
        "select * from snapshots where (url = :u or target_uri = :u) "
        "and record_type in ('response', 'revisit') order by fetched_at", {"u": url}))
    if not rows:
        return None
    row = min(rows, key=lambda r: _distance(r["fetched_at"], at))
    record = _read_record(row, warc_dir)
    payload = record.raw_stream.read()
    if row["record_type"] == "revisit" and row["refers_to"]:
        original = db.table("snapshots").get(row["refers_to"])
        payload = _read_record(original, warc_dir).raw_stream.read()
    http = record.http_headers
    return Snapshot(snapshot_ref(row), list(record.rec_headers.headers),
                    f"{http.protocol} {http.statusline}" if http else "",
                    list(http.headers) if http else [], payload)


def _distance(fetched_at: str, at: dt.date | None) -> tuple[float, float]:
    """Sort key: days away from `at` (0 when None), then newest first."""
    when = dt.datetime.fromisoformat(fetched_at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    newest_first = -when.timestamp()
    if at is None:
        return 0.0, newest_first
    day = at.date() if isinstance(at, dt.datetime) else at
    return abs((when.date() - day).days), newest_first


def _read_record(row: Mapping[str, Any], warc_dir: Path | None) -> ArcWarcRecord:
    path = Path(row["file"])
    if warc_dir is not None and not path.exists() and not open_name(path).exists():
        path = Path(warc_dir) / path.name        # the project (and its cache) moved
    if not path.exists() and open_name(path).exists():
        path = open_name(path)                   # the run writing it is still going
    with open(path, "rb") as f:
        f.seek(row["offset"])
        data = f.read(row["length"])
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    record.raw_stream = io.BytesIO(record.raw_stream.read())   # detach from the closed buffer
    return record
