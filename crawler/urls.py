"""Pure URL helpers: normalise, host key, home page / section index, same article.

Used by verify to tell "moved to a new address" (still the article) from "sent to the home
page" (the article is gone, DeadlinkChecker's REDIRECT TO ROOT rule).
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "host_key",
    "is_deep",
    "is_home",
    "is_section_index",
    "normalise",
    "parent_dir",
    "path_segments",
    "same_article",
]

# Query keys that track a click, never select content: dropped before comparing URLs.
TRACKING_PARAMS = re.compile(r"^(utm_\w+|ref|fbclid|gclid|mc_cid|mc_eid|cmpid|ocid|smid|iref|n_cid|from)$", re.IGNORECASE)
# Paths that are a site's front page under another name.
_INDEX_FILES = re.compile(r"^(index|default|home|top)(\.\w+)?$", re.IGNORECASE)
# A one-segment path that names a language or edition ("/japanese/", "/jp", "/en-us/").
_EDITION = re.compile(r"^([a-z]{2}(-[a-z]{2})?|japanese|english|top|home|international)$", re.IGNORECASE)
_SLUGGY = re.compile(r"[.\-_\d]")
SLUG_LEN = 16        # a single path segment this long is an article slug, not a section name
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking params."""
    parts = urlsplit((url or "").strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not TRACKING_PARAMS.match(k)])
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def host_key(url: str) -> str:
    """The host a politeness lane and a probe belong to: lower-case, without 'www.'."""
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def path_segments(url: str) -> list[str]:
    return [s for s in urlsplit(url or "").path.split("/") if s]


def is_home(url: str) -> bool:
    """The site's front page: '/', '/index.html', or a bare edition like '/japanese/'."""
    segs = path_segments(url)
    if urlsplit(url or "").query and segs:
        return False
    if not segs:
        return True
    if len(segs) == 1:
        return bool(_INDEX_FILES.match(segs[0]) or _EDITION.match(segs[0]))
    return len(segs) == 2 and bool(_EDITION.match(segs[0]) and _INDEX_FILES.match(segs[1]))


def is_deep(url: str) -> bool:
    """An article-like URL: not the home page; 2+ path segments, a query, or one segment that
    looks like a slug or an id ('/putin-has-won', '/35240000.html') rather than a section."""
    if is_home(url):
        return False
    segs = path_segments(url)
    if len(segs) >= 2 or urlsplit(url).query:
        return True
    return bool(segs) and (len(segs[0]) >= SLUG_LEN or bool(_SLUGGY.search(segs[0])))


def is_section_index(final: str, cited: str) -> bool:
    """final is a directory above cited on the same host ('/japanese/articles/x' -> '/japanese/')."""
    if host_key(final) != host_key(cited) or urlsplit(final).query:
        return False
    fin, cit = path_segments(final), path_segments(cited)
    if _INDEX_FILES.match(fin[-1] if fin else ""):
        fin = fin[:-1]
    return len(fin) < len(cit) and cit[:len(fin)] == fin


def same_article(a: str, b: str) -> bool:
    """The same resource despite scheme, 'www.', trailing slash, case of host or tracking params."""
    ua, ub = urlsplit(normalise(a)), urlsplit(normalise(b))
    if host_key(a) != host_key(b):
        return False
    pa, pb = ua.path.rstrip("/") or "/", ub.path.rstrip("/") or "/"
    return pa == pb and ua.query == ub.query


def parent_dir(url: str) -> str:
    """scheme://host/dir/ above the URL (benhoyt/soft404 get_parent)."""
    parts = urlsplit(url or "")
    path = parts.path.rstrip("/")
    parent = posixpath.dirname(path) if path else ""
    parent = parent.rstrip("/") + "/"
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))
