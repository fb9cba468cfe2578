"""One writer: a second holder waits a bounded time, then fails naming the first."""

import os
import signal
import subprocess
import sys
import time

import pytest

from crawler.lock import StoreLocked, WriterLock

HOLD = """
import sys, time
from crawler.lock import WriterLock
lock = WriterLock(sys.argv[1]); lock.acquire(); print("held", flush=True); time.sleep(30)
"""


def start_holder(db):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_writer_gives_up_naming_holder(tmp_path):
    db = tmp_path / "c.db"
    p = start_holder(db)
    try:
        with pytest.raises(StoreLocked, match=f"pid {p.pid}"):
            WriterLock(db, wait=0.2).acquire()
    finally:
        p.kill()
        p.wait()


def test_lock_of_killed_process_is_taken_over(tmp_path):
    db = tmp_path / "c.db"
    p = start_holder(db)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    with WriterLock(db, wait=0) as lock:
        assert lock.holder()["pid"] == os.getpid()


def test_waiter_gets_lock_when_holder_exits(tmp_path):
    db = tmp_path / "c.db"
    p = start_holder(db)
    t0 = time.monotonic()
    subprocess.Popen(["sh", "-c", f"sleep 0.3; kill {p.pid}"])
    with WriterLock(db, wait=10):
        assert time.monotonic() - t0 >= 0.2
    p.wait()
