"""Where a report's text goes: any writable, a block-gathering sink for stdout, a safe file.

Kept apart from the formats: a writer only ever calls `.write(str)`, so the formats need not
know whether the text lands in a file, a StringIO or click.echo, and replacing a report file
is done once, here, the same way for every format.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

__all__ = ["ChunkedWriter", "Writable", "output_file"]


class Writable(Protocol):
    """Where `write` puts a report: a text file, io.StringIO, a ChunkedWriter."""

    def write(self, text: str, /) -> Any: ...


class ChunkedWriter:
    """Gathers small writes into blocks of about `size` characters for `emit` (click.echo to
    stdout, say), so streaming a report costs one call per block, not one per citation."""

    def __init__(self, emit: Callable[[str], Any], size: int = 1 << 16):
        self.emit, self.size = emit, size
        self.parts: list[str] = []
        self.pending = 0
        self.last = ""                  # the last character written, "" before any

    def write(self, text: str) -> int:
        if text:
            self.parts.append(text)
            self.pending += len(text)
            self.last = text[-1]
            if self.pending >= self.size:
                self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.emit("".join(self.parts))
            self.parts.clear()
            self.pending = 0


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A report file written in place of `path` only when complete: through a temporary file
    renamed at the end, so a failed or interrupted render never leaves half a report where
    the last whole one was. Not a regular file (/dev/stdout, a FIFO) or a symlink: written
    as it is."""
    target = Path(path)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        with open(target, "w", encoding="utf-8") as fh:
            yield fh
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
