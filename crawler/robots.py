"""robots.txt per RFC 9309, parsed by protego, fetched once per host per run.

When robots.txt is unreachable (no HTTP answer) its URLs are not fetched and
end with that transport failure (timeout, connection_error, ...), not with
robots_disallowed: the host did not answer, which is what 'network down'
detection and the retry pass need to know.

Concurrent requests to a host await the single in-flight robots.txt fetch
(Scrapy's pattern). Unlike Scrapy we follow the RFC on failures: 4xx means no
rules (allow all), 5xx or unreachable means assume complete disallow for the
rest of the run. The fetch itself is handed in as a callable so it goes
through the same host gate, caps and SSRF checks as any page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from crawler.hosts import host_key
from crawler.model import Fetched, Status

__all__ = ["ROBOTS_MAX_BYTES", "RobotsCache", "RobotsPolicy", "product_token"]

ROBOTS_MAX_BYTES = 500 * 1024      # RFC 9309 2.5: parse at least 500 KiB


def product_token(user_agent: str) -> str:
    """'crawler/0.1.0 (+url)' -> 'crawler': the token robots.txt groups match on."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


@dataclass(frozen=True)
class RobotsPolicy:
    """What one host's robots.txt lets our token do."""

    parser: Protego | None = None      # None with allow_all set: no rules apply
    allow_all: bool = True
    reason: str = ""                   # why everything is allowed/disallowed, for error text
    failure: Status | None = None      # robots.txt unreachable: the transport failure itself

    def allows(self, url: str, token: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(token)
        return float(delay) if delay is not None else None


def policy_from(fetched: Fetched) -> RobotsPolicy:
    """RFC 9309 2.3.1: success -> parse; 4xx -> allow all; 5xx/unreachable -> disallow all."""
    code = fetched.status_code
    if fetched.outcome is None and 200 <= code < 300:
        text = fetched.body.decode("utf-8", errors="replace")
        try:
            return RobotsPolicy(Protego.parse(text), reason="robots.txt")
        except Exception as exc:  # noqa: BLE001 -- errors are values; rules unknown: as for 5xx
            return RobotsPolicy(None, allow_all=False, reason=f"robots.txt could not be "
                                f"parsed ({type(exc).__name__}): assuming complete disallow")
    if fetched.outcome is None and 400 <= code < 500:
        return RobotsPolicy(None, allow_all=True, reason=f"robots.txt answered {code}")
    if fetched.outcome is None:
        return RobotsPolicy(None, allow_all=False,
                            reason=f"robots.txt answered {code}: assuming complete disallow")
    # Unreachable: we disallow too, but the honest outcome for the page is the
    # host's transport failure (so 'network down' is not mistaken for robots).
    return RobotsPolicy(None, allow_all=False, failure=fetched.outcome,
                        reason=f"robots.txt unreachable: {fetched.error}")


Getter = Callable[[str], Awaitable[Fetched]]


class RobotsCache:
    """One policy per host key per run; the first asker fetches, the others await it."""

    def __init__(self, get: Getter):
        self._get = get
        self._tasks: dict[str, asyncio.Task[RobotsPolicy]] = {}

    async def policy(self, url: str) -> RobotsPolicy:
        key = host_key(url)
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(self._fetch(key))
        return await asyncio.shield(task)

    async def _fetch(self, key: str) -> RobotsPolicy:
        return policy_from(await self._get(key + "/robots.txt"))

    def forget_failures(self) -> None:
        """Before the end-of-run pass: hosts whose robots.txt was unreachable get another try."""
        for key, task in list(self._tasks.items()):
            if task.done() and not task.cancelled() and (
                    task.exception() is not None or task.result().failure is not None):
                del self._tasks[key]

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
