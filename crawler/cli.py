"""The thin click CLI over the library. Commands are added per stage."""

from __future__ import annotations

import click

from crawler import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crawler")
def cli() -> None:
    """Verify an article's citations: registry, polite fetch, verify, store, report."""


def main() -> None:
    cli()
