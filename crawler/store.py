"""The SQLite store (sqlite-utils, WAL): the registry, every run, every attempt, every verdict.

History is the point: "since when does #12 fail" and "what changed since the
last run" are queries over `results`, so each row is committed as it arrives
and a killed run loses nothing it had finished. Runs that ended inconclusive
(network down) are kept for the record but never count in health.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Iterator

from sqlite_utils import Database

from crawler.model import (
    Attempt, Citation, DateVerdict, Health, Hop, Row, RunInfo, Status, Summary, Verdict, isonow,
)

SCHEMA_VERSION = 1
TEXT_MAX = 2000         # chars of a page title or error kept per result: a hostile page's
                        # megabyte <title> must not be stored (and reported) once per run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS citations (
  id TEXT PRIMARY KEY, authors TEXT, title TEXT, outlet TEXT, published TEXT,
  url TEXT, accessed TEXT, lang TEXT, raw TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
  state TEXT NOT NULL DEFAULT 'running', pid INTEGER, registry TEXT, settings TEXT,
  counts TEXT);
CREATE TABLE IF NOT EXISTS results (
  run_id INTEGER NOT NULL REFERENCES runs(id), citation_id TEXT NOT NULL, url TEXT,
  checked_at TEXT, status TEXT, http_status INTEGER, final_url TEXT, redirects TEXT,
  page_title TEXT, title_score REAL, title_match INTEGER, published_found TEXT,
  modified_found TEXT, date_verdict TEXT, drift REAL, fingerprint TEXT, health TEXT,
  failing_since TEXT, url_status TEXT, attempts INTEGER, elapsed_ms INTEGER, error TEXT,
  PRIMARY KEY (run_id, citation_id));
CREATE INDEX IF NOT EXISTS results_by_citation ON results(citation_id, run_id);
CREATE INDEX IF NOT EXISTS results_by_url ON results(url, run_id);
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), url TEXT, attempt INTEGER,
  started_at TEXT, status_code INTEGER, final_url TEXT, hops TEXT, bytes INTEGER,
  elapsed_ms INTEGER, outcome TEXT, error TEXT, from_cache INTEGER);
CREATE INDEX IF NOT EXISTS attempts_by_run ON attempts(run_id, url);
"""


def open_db(path: str | os.PathLike[str]) -> Database:
    """Open (creating on first use) the store in WAL mode so readers work during a check.

    A store we may not write (read-only file, directory or mount) that already
    exists opens as a read-only view, so `report` and `history` still work;
    `is_read_only()` tells a writer to stop before its first write.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        try:
            db.enable_wal()
            # WAL + NORMAL: a commit is safe from a killed process (SIGKILL included) without
            # an fsync per verdict; only an OS crash or power cut may lose the last few.
            db.conn.execute("PRAGMA synchronous = NORMAL")
            db.conn.execute("PRAGMA busy_timeout = 10000")
            db.conn.executescript(_SCHEMA)
            db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:
            if not Path(path).is_file() or not _read_only_error(exc):
                raise
            db.conn.close()
            return _open_read_only(path)
        return db
    db = Database(memory=True)
    db.conn.execute("PRAGMA busy_timeout = 10000")
    db.conn.executescript(_SCHEMA)
    db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return db


def _read_only_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _open_read_only(path: str | os.PathLike[str]) -> Database:
    """A view of a store nobody here may write. `immutable`: a WAL store without its
    -shm file cannot be opened read-only otherwise, and nobody can be writing it."""
    uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    conn.execute("PRAGMA query_only = 1")
    return Database(conn)


def is_read_only(db: Database) -> bool:
    """True for a view opened on a store we may not write (see open_db)."""
    return bool(db.execute("PRAGMA query_only").fetchone()[0])


# -- registry ---------------------------------------------------------------

def upsert_citations(db: Database, citations: Iterable[Citation], batch: int = 1000) -> int:
    """Upsert by id, in batches so a 100,000-row registry streams through."""
    now = isonow()
    rows = ({**asdict(c), "authors": "; ".join(c.authors), "updated_at": now} for c in citations)
    count = 0
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            count += _flush_citations(db, chunk)
    return count + _flush_citations(db, chunk)


def _flush_citations(db: Database, chunk: list[dict]) -> int:
    if chunk:
        with db.conn:
            db["citations"].upsert_all(chunk, pk="id")
    n = len(chunk)
    chunk.clear()
    return n


def citation_from_row(row: dict) -> Citation:
    authors = tuple(a for a in (row.get("authors") or "").split("; ") if a)
    return Citation(id=str(row["id"]), authors=authors, title=row.get("title") or "",
                    outlet=row.get("outlet") or "", published=row.get("published") or "",
                    url=row.get("url") or "", accessed=row.get("accessed") or "",
                    lang=row.get("lang") or "", raw=row.get("raw") or "")


def get_citation(db: Database, citation_id: str) -> Citation | None:
    rows = list(db.query("select * from citations where id = ?", [citation_id]))
    return citation_from_row(rows[0]) if rows else None


# -- runs -------------------------------------------------------------------

def start_run(db: Database, registry: str = "", settings: dict | None = None) -> int:
    with db.conn:
        cur = db.conn.execute(
            "insert into runs (started_at, state, pid, registry, settings) values (?, ?, ?, ?, ?)",
            [isonow(), "running", os.getpid(), registry, json.dumps(settings or {}, default=str)])
    return int(cur.lastrowid)


def finish_run(db: Database, run_id: int, state: str = "finished") -> RunInfo:
    counts = dict(db.execute(
        "select status, count(*) from results where run_id = ? group by status", [run_id]).fetchall())
    with db.conn:
        db.conn.execute("update runs set finished_at = ?, state = ?, counts = ? where id = ?",
                        [isonow(), state, json.dumps(counts), run_id])
    info = get_run(db, run_id)
    assert info is not None
    return info


def close_stale_runs(db: Database, keep: int | None = None) -> int:
    """Mark runs left 'running' by a dead process as interrupted (call with the writer lock)."""
    with db.conn:
        cur = db.conn.execute(
            "update runs set state = 'interrupted', finished_at = coalesce(finished_at, ?)"
            " where state = 'running' and id != ?", [isonow(), -1 if keep is None else keep])
    return cur.rowcount


def get_run(db: Database, run_id: int) -> RunInfo | None:
    rows = list(db.query("select * from runs where id = ?", [run_id]))
    return _run_info(rows[0]) if rows else None


def _run_info(row: dict) -> RunInfo:
    return RunInfo(id=row["id"], started_at=row["started_at"], finished_at=row["finished_at"] or "",
                   state=row["state"], counts=json.loads(row["counts"] or "{}"))


def latest_run(db: Database, states: tuple[str, ...] = ("finished", "interrupted", "running",
                                                         "inconclusive")) -> RunInfo | None:
    marks = ",".join("?" * len(states))
    rows = list(db.query(f"select * from runs where state in ({marks}) order by id desc limit 1",
                         list(states)))
    return _run_info(rows[0]) if rows else None


def runs(db: Database, limit: int = 60) -> list[RunInfo]:
    """The last `limit` runs, oldest first, with per-status counts computed from results."""
    rows = list(db.query("select * from runs order by id desc limit ?", [limit]))
    out = []
    for row in reversed(rows):
        info = _run_info(row)
        if not info.counts:
            info = RunInfo(info.id, info.started_at, info.finished_at, info.state, dict(db.execute(
                "select status, count(*) from results where run_id = ? group by status",
                [info.id]).fetchall()))
        out.append(info)
    return out


# -- attempts and results -----------------------------------------------------

def record_attempt(db: Database, run_id: int, a: Attempt) -> None:
    with db.conn:
        db.conn.execute(
            "insert into attempts (run_id, url, attempt, started_at, status_code, final_url, hops,"
            " bytes, elapsed_ms, outcome, error, from_cache) values (?,?,?,?,?,?,?,?,?,?,?,?)",
            [run_id, a.url, a.attempt, a.started_at, a.status_code, a.final_url,
             _hops_json(a.hops), a.bytes, a.elapsed_ms, a.outcome.value if a.outcome else None,
             a.error, int(a.from_cache)])


def record_result(db: Database, run_id: int, v: Verdict, failing_since: str = "") -> None:
    """Committed at once: a killed run keeps every verdict it reached."""
    row = {
        "run_id": run_id, "citation_id": v.id, "url": v.url, "checked_at": v.checked_at or isonow(),
        "status": v.status.value, "http_status": v.http_status, "final_url": v.final_url,
        "redirects": _hops_json(v.redirects), "page_title": v.page_title[:TEXT_MAX],
        "title_score": v.title_score,
        "title_match": None if v.title_match is None else int(v.title_match),
        "published_found": v.published_found, "modified_found": v.modified_found,
        "date_verdict": v.date_verdict.value, "drift": v.drift, "fingerprint": v.fingerprint,
        "health": v.health.value, "failing_since": failing_since, "url_status": v.url_status,
        "attempts": v.attempts, "elapsed_ms": v.elapsed_ms, "error": v.error[:TEXT_MAX],
    }
    cols = ", ".join(row)
    with db.conn:       # the whole row is given, so replace == upsert, in one statement
        db.conn.execute(f"insert or replace into results ({cols}) values"
                        f" ({', '.join('?' * len(row))})", list(row.values()))


def done_ids(db: Database, run_id: int) -> set[str]:
    return {r[0] for r in db.execute("select citation_id from results where run_id = ?", [run_id])}


def status_history(db: Database, citation_id: str, before_run: int | None = None
                   ) -> list[tuple[str, Status]]:
    """(checked_at, status) of every conclusive run for a citation, oldest first."""
    sql = ("select r.checked_at, r.status from results r join runs u on u.id = r.run_id"
           " where r.citation_id = ? and u.state != 'inconclusive'")
    args: list = [citation_id]
    if before_run is not None:
        sql += " and r.run_id < ?"
        args.append(before_run)
    return [(t, Status(s)) for t, s in db.execute(sql + " order by r.run_id", args)]


def baseline_fingerprint(db: Database, url: str) -> tuple[str, str]:
    """The first stored fingerprint of a URL's text and when it was taken: drift's reference."""
    row = db.execute("select fingerprint, checked_at from results where url = ? and"
                     " coalesce(fingerprint, '') != '' order by run_id limit 1", [url]).fetchone()
    return (row[0], row[1]) if row else ("", "")


def timeline(db: Database, citation_id: str) -> list[dict]:
    return list(db.query(
        "select r.run_id, r.checked_at, r.status, r.http_status, r.title_score, r.health,"
        " r.error, u.state as run_state from results r join runs u on u.id = r.run_id"
        " where r.citation_id = ? order by r.run_id", [citation_id]))


# -- summaries ----------------------------------------------------------------

def verdict_from_row(row: dict) -> Verdict:
    hops = tuple(Hop(h[0], h[1]) for h in json.loads(row.get("redirects") or "[]"))
    tm = row.get("title_match")
    return Verdict(
        id=row["citation_id"], url=row["url"] or "", status=Status(row["status"]),
        final_url=row["final_url"] or "", http_status=row["http_status"] or 0, redirects=hops,
        page_title=row["page_title"] or "", title_score=row["title_score"],
        title_match=None if tm is None else bool(tm),
        published_found=row["published_found"] or "", modified_found=row["modified_found"] or "",
        date_verdict=DateVerdict(row["date_verdict"] or "no_date"), drift=row["drift"],
        fingerprint=row["fingerprint"] or "", health=Health(row["health"] or "unknown"),
        url_status=row["url_status"] or "", attempts=row["attempts"] or 0,
        elapsed_ms=row["elapsed_ms"] or 0, error=row["error"] or "",
        checked_at=row["checked_at"] or "")


_ROWS_SQL = ("select r.*, c.authors, c.title, c.outlet, c.published, c.accessed, c.lang, c.raw,"
             " c.id as cid, c.url as curl{archive_cols} from results r left join citations c"
             " on c.id = r.citation_id{archive_join} where r.run_id = ?"
             " order by cast(r.citation_id as integer), r.citation_id limit ? offset ?")
# The archived copy known for a URL (the archive module's table), if any: the latest found one.
# status = 'found' first, so the (status, url) index of `archives` answers it.
_ARCHIVE_JOIN = (" left join archives a on a.rowid = (select x.rowid from archives x"
                 " where x.status = 'found' and x.url = r.url"
                 " and coalesce(x.archive_url, '') != '' order by x.rowid desc limit 1)")


def iter_rows(db: Database, run_id: int, *, limit: int = -1, offset: int = 0) -> Iterator[Row]:
    """A run's rows in citation order, streamed from SQLite (never all in memory at once)."""
    archives = _has_archives(db)                  # once per iteration, not once per row
    sql = _ROWS_SQL.format(
        archive_cols=", a.archive_url as a_url, a.archive_date as a_date" if archives else "",
        archive_join=_ARCHIVE_JOIN if archives else "")
    for row in db.query(sql, [run_id, limit, offset]):
        cit = citation_from_row({**row, "id": row["citation_id"], "url": row["curl"] or row["url"]})
        archive = {"archive_url": row["a_url"], "archive_date": row["a_date"] or ""} if (
            archives and row["a_url"]) else {}
        yield Row(citation=cit, verdict=verdict_from_row(row),
                  failing_since=row["failing_since"] or "", **archive)


def _has_archives(db: Database) -> bool:
    return db.execute("select 1 from sqlite_master where type = 'table' and name = 'archives'"
                      ).fetchone() is not None


class StoredRows:
    """A run's rows as `Summary.rows`: sized and re-iterable, never held in memory.

    Each iteration runs the query anew and streams rows from SQLite; len() is a count query.
    A report walks the rows more than once (counts and the policy first, then one line per
    citation), so while a check may be writing the run, read inside `snapshot(db)`: every
    pass then sees the same rows. Indexing (rows[0], rows[:10]) reads just those rows.
    Not picklable (it holds the connection): `tuple(rows)` is the materialised form.
    """

    __slots__ = ("db", "run_id")

    def __init__(self, db: Database, run_id: int):
        self.db = db
        self.run_id = run_id

    def __iter__(self) -> Iterator[Row]:
        return iter_rows(self.db, self.run_id)

    def __len__(self) -> int:
        return int(self.db.execute("select count(*) from results where run_id = ?",
                                   [self.run_id]).fetchone()[0])

    def __getitem__(self, index: int | slice) -> Row | tuple[Row, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return tuple(self)[index]
            return tuple(iter_rows(self.db, self.run_id, limit=max(0, stop - start),
                                   offset=start))
        position = index + len(self) if index < 0 else index
        found = list(iter_rows(self.db, self.run_id, limit=1, offset=position)) if (
            position >= 0) else []
        if not found:
            raise IndexError(f"run {self.run_id} has no row {index}")
        return found[0]

    def __repr__(self) -> str:
        return f"StoredRows(run_id={self.run_id})"


@contextmanager
def snapshot(db: Database) -> Iterator[Database]:
    """Every read inside sees one state of the store, whatever a running check commits meanwhile
    (WAL: a read transaction keeps its snapshot). A report's header counts then match its rows.
    Nothing may be written inside; an enclosing transaction is reused as it is."""
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("begin")
    try:
        yield db
    finally:
        if conn.in_transaction:
            conn.execute("rollback")      # read only: nothing to keep


def _bad(status: str) -> bool:
    return not Status(status).is_ok and not Status(status).is_inconclusive


def changes(db: Database, run_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(newly failing, recovered): each citation against its own previous conclusive result.

    Per citation, not per run: a partial run (--changed-only, killed, resumed) must not
    make every long-standing failure look new.
    """
    rows = db.execute(
        "select r.citation_id, r.status, (select p.status from results p join runs u"
        " on u.id = p.run_id where p.citation_id = r.citation_id and p.run_id < r.run_id"
        " and u.state != 'inconclusive' order by p.run_id desc limit 1)"
        " from results r where r.run_id = ?", [run_id])
    newly, recovered = [], []
    for cid, now, before in rows:
        if _bad(now) and (before is None or not _bad(before)):
            newly.append(cid)
        elif before is not None and _bad(before) and not _bad(now):
            recovered.append(cid)
    return tuple(newly), tuple(recovered)


def build_summary(db: Database, run_id: int | None = None, hints: tuple[str, ...] = ()
                  ) -> Summary | None:
    """A run (default the latest that is not inconclusive) for a report. Its rows are
    `StoredRows`: read from the store on each walk, so a 100,000-citation summary stays small."""
    run = get_run(db, run_id) if run_id is not None else latest_run(
        db, ("finished", "interrupted", "running"))
    if run is None:
        return None
    if not run.counts:
        run = RunInfo(run.id, run.started_at, run.finished_at, run.state, dict(db.execute(
            "select status, count(*) from results where run_id = ? group by status",
            [run.id]).fetchall()))
    newly, recovered = changes(db, run.id)
    history = tuple(r for r in runs(db) if r.id <= run.id)
    return Summary(run=run, rows=StoredRows(db, run.id), history=history,
                   newly_failing=newly, recovered=recovered, hints=hints)


def _hops_json(hops: tuple[Hop, ...]) -> str:
    return json.dumps([[h.url, h.status_code] for h in hops])
