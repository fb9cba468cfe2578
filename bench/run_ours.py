"""Client side of the benchmark: fetch every URL in a file with our Fetcher, print a summary.

Runs in its own process so its CPU time and peak RSS can be measured alone.
usage: run_ours.py URLFILE CONCURRENCY PER_HOST DELAY
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
from pathlib import Path

from crawler.fetch import FetchConfig, Fetcher


async def main(path: str, concurrency: int, per_host: int, delay: float) -> dict[str, int]:
    urls = Path(path).read_text().split()
    config = FetchConfig(concurrency=concurrency, per_host=per_host, delay=delay,
                         allow_private=True, cache_dir=None)
    counts: collections.Counter[str] = collections.Counter()
    async with Fetcher(config) as fetcher:
        async for r in fetcher.fetch_all(urls):
            counts[str(r.outcome or r.status_code)] += 1
    return dict(counts)


if __name__ == "__main__":
    file, conc, per, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(asyncio.run(main(file, conc, per, delay))))
