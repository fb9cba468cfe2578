"""What a person sees in the terminal: progress while a check runs, a table at the end.

On a terminal, a tqdm bar on stderr with counts per outcome; elsewhere (CI logs)
one plain line per citation, so logs stay greppable and nothing redraws.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import IO, Iterator

import click

from crawler.model import Citation, Status, Summary, Verdict

_COLOURS = {"ok": "green", "redirected": "green", "blocked": "yellow", "paywalled": "yellow",
            "robots_disallowed": "yellow", "timeout": "yellow", "private_address": "yellow"}


def colour(status: str) -> str:
    return _COLOURS.get(status, "red")


class Progress:
    """Callable handed to the check loop: one call per judged citation."""

    def __init__(self, total: int = 0, stream: IO[str] | None = None, bar: bool | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.counts: Counter[str] = Counter()
        use_bar = self.stream.isatty() if bar is None else bar
        self.bar = None
        if use_bar:
            from tqdm import tqdm
            self.bar = tqdm(total=total, file=self.stream, unit="cit", dynamic_ncols=True)

    def start(self, total: int, urls: int = 0) -> None:
        """The registry has been read (streamed): now the total is known."""
        self.total = total
        if self.bar is not None:
            self.bar.reset(total=total)

    def __call__(self, citation: Citation, v: Verdict) -> None:
        self.counts[v.status.value] += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(" ".join(f"{k}={n}" for k, n in sorted(self.counts.items())))
        else:
            done = sum(self.counts.values())
            detail = f" ({v.error})" if v.error else ""
            click.echo(f"[{done}/{self.total}] #{citation.id} {v.status.value}{detail} {v.url}",
                       file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def table(summary: Summary, width: int = 60) -> str:
    """The at-a-glance table: one line per citation, worst news first in the counts line."""
    return "\n".join(table_lines(summary, width))


def table_lines(summary: Summary, width: int = 60) -> Iterator[str]:
    """`table` line by line (no newlines), made as the rows are walked: for a big run."""
    header = f"{'#':>3}  {'status':<17} {'health':<8} {'title':>5}  {'date':<21} url"
    yield header
    yield "-" * len(header)
    counts: Counter[str] = Counter()
    for row in summary.rows:
        v = row.verdict
        counts[v.status.value] += 1
        score = "" if v.title_score is None else f"{v.title_score:.0f}"
        url = v.url if len(v.url) <= width else v.url[: width - 1] + "…"
        status = click.style(f"{v.status.value:<17}", fg=colour(v.status.value))
        yield (f"{row.citation.id:>3}  {status} {v.health.value:<8} {score:>5}  "
               f"{v.date_verdict.value:<21} {url}")
    yield ""
    yield "  ".join(f"{k}: {n}" for k, n in counts.most_common())


def inconclusive_line(n_urls: int) -> str:
    return (f"inconclusive: not one of {n_urls} URL(s) answered at the connection level "
            f"(DNS or connect failed for every host) - the network looks unreachable. "
            f"No citation was marked failed.")


__all__ = ["Progress", "table", "table_lines", "inconclusive_line", "Status"]
