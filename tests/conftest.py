"""Shared fixtures: the loopback fixture web and a clean environment."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from server import Site  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ARTICLE = SHARED / "articles" / "spf-2025-12-24-trump-ukraine.txt"

_hosts = itertools.cycle(range(2, 250))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    """The machine's proxies and CRAWLER_* settings must not leak into tests."""
    for key in list(os.environ):
        if key.lower().endswith("_proxy") or key.startswith("CRAWLER_") or key == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def web():
    """Factory of loopback hosts: web() -> Site on the next 127.0.0.N."""
    sites: list[Site] = []

    def make(host: str | None = None) -> Site:
        site = Site(host or f"127.0.0.{next(_hosts)}")
        sites.append(site)
        return site

    yield make
    for s in sites:
        s.close()
