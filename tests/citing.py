"""Shared test helpers: a registry file and a cited article page, as the CLI tests need them."""

from __future__ import annotations

import csv
from os import PathLike

from server import html_page

from crawler.registry import COLUMNS


def write_registry(path: str | PathLike[str], rows: list[tuple[str, str]]) -> str:
    """A registry of (title, url) rows, ids 1.., every other field a valid constant."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i, (title, url) in enumerate(rows, 1):
            w.writerow([i, "", title, "Outlet", "2025-01-09", url, "2025-12-22", "en", ""])
    return str(path)


def article(title: str, published: str = "2025-01-09", paragraphs: int = 30) -> bytes:
    """A news page carrying its title and publication date the way real outlets do."""
    head = (f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="{published}T10:00:00+09:00">')
    body = f"<h1>{title}</h1>" + "<p>Body text of the article about the topic. </p>" * paragraphs
    return html_page(f"{title} | Outlet", body, head)
