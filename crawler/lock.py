"""One writer per store: a `check` holds an exclusive lock beside the database.

The lock is an flock on `<db>.lock`, so the kernel drops it when the holder
dies (SIGKILL included): a stale lock from a dead process is simply taken
over. The file also names the holder (pid, start time) for the message a
second process prints while it waits or gives up.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from crawler.model import isonow


class StoreLocked(Exception):
    """Another process holds the store; the message names it."""


class StoreUnwritable(StoreLocked):
    """The lock file cannot be created: the store's directory is read-only (or missing)."""


class WriterLock:
    def __init__(self, db_path: str | os.PathLike[str], wait: float = 0.0, poll: float = 0.1):
        self.path = Path(f"{db_path}.lock")
        self.wait = wait
        self.poll = poll
        self._fd: int | None = None

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreUnwritable(
                f"cannot lock the store: {self.path}: {exc.strerror or exc}. `crawler check` "
                f"records every run in the store, so its directory must be writable "
                f"(`report` and `history` work on a read-only store).") from None
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    h = self.holder()
                    raise StoreLocked(
                        f"store is locked by another crawler check (pid {h.get('pid', '?')}, "
                        f"started {h.get('started', '?')}); waited {self.wait:g}s. "
                        f"Use --lock-wait SECONDS to wait longer.") from None
                time.sleep(self.poll)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": isonow()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WriterLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
