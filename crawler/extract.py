"""HTML bytes + response headers -> Page: title candidates, dates, site name, main text.

Pure: no sockets, no clock. Decoding is done here rather than left to the parser because
real pages lie about their charset (realpages has eight UTF-8 files labelled Shift_JIS,
windows-1252, euc-kr, ...), and a wrong guess turns every title into mojibake.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

from htmldate import find_date
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.dates import parse_date
from crawler.model import Page

__all__ = ["decode_html", "meta_refresh", "parse_page"]

TEXT_LIMIT = 20_000          # chars of main text kept: enough for a fingerprint, cheap to store
MIN_ARTICLE_TEXT = 200       # an <article> shorter than this is a teaser card, not the story
SNIFF_BYTES = 4096           # where the HTML spec looks for <meta charset>
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_REFRESH = re.compile(rb"""<meta[^>]+http-equiv\s*=\s*["']?refresh["']?[^>]*content\s*=\s*["']\s*"""
                      rb"""([\d.]+)\s*[;,]\s*url\s*=\s*([^"'>]+)""", re.IGNORECASE)
REFRESH_MAX = 10     # seconds: a longer refresh is a page reload, not a redirect
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)

# WHATWG label -> the codec browsers really use for it (latin-1 means cp1252, Shift_JIS cp932).
_CODEC_ALIASES = {
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso8859-1": "cp1252",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "ms_kanji": "cp932",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "tis-620": "cp874", "big5": "big5hkscs",
}

# Where each date lives, most specific first. Keys are meta name/property/itemprop, lower-case.
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "article:published", "datepublished", "pubdate", "publishdate", "publish-date",
    "publish_date", "iso-8601-publish-date", "parsely-pub-date", "sailthru.date",
    "citation_publication_date", "citation_date", "dc.date.issued", "dcterms.issued",
    "dc.date", "dcterms.date", "dcterms.created", "datecreated", "originalpublicationdate",
    "article.published", "date", "displaydate", "content_created",
)
MODIFIED_META = (
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "lastmod", "last-modified", "dcterms.modified", "article.updated", "modified",
)
TITLE_META = (("og:title", "og:title"), ("twitter:title", "twitter:title"))
SITE_META = ("og:site_name", "application-name", "al:android:app_name", "twitter:site")
_NON_TEXT = "script, style, noscript, template, svg, nav, header, footer, aside, iframe"  # not form: ASP.NET wraps whole pages in one


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Bytes -> (text, codec). BOM, then valid UTF-8, then header charset, then <meta>.

    Strict UTF-8 goes before the declared charset: non-ASCII bytes that validate as UTF-8
    are almost never legacy text, while mislabelled UTF-8 pages are common (archived copies
    are transcoded but keep their old <meta>). Measured on realpages: declared-charset-first
    gets 145/150 titles right (091, 122 turn to mojibake), UTF-8-first 147/150, and the
    genuine Shift_JIS / EUC-JP / cp1252 / gb2312 pages still decode by their declaration.
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(codec, errors="replace"), codec
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = [c for c in (_header_charset(headers), _meta_charset(body)) if c]
    for codec in declared:
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    codec = declared[0] if declared else "cp1252"
    return body.decode(codec, errors="replace"), codec


def meta_refresh(body: bytes, base_url: str = "") -> str:
    """Target of a prompt <meta http-equiv="refresh"> (delay <= REFRESH_MAX s), or ''.

    Some sites 'redirect' a dead article to the home page this way, with a 200 status;
    Cloudflare's challenge page carries a refresh with a long delay and no URL.
    """
    m = _REFRESH.search(body[:SNIFF_BYTES * 16])
    if not m:
        return ""
    try:
        delay = float(m.group(1))
    except ValueError:
        return ""
    target = m.group(2).decode("utf-8", "replace").strip().strip("'\"")
    return urljoin(base_url, target) if target and delay <= REFRESH_MAX else ""


def _codec(label: str) -> str:
    label = label.strip().lower()
    name = _CODEC_ALIASES.get(label, label)
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return ""
    return "utf-8" if name == "utf-8" else _CODEC_ALIASES.get(name, name)


def _header_charset(headers: Mapping[str, str] | None) -> str:
    if not headers:
        return ""
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    m = _HEADER_CHARSET.search(ctype)
    return _codec(m.group(1)) if m else ""


def _meta_charset(body: bytes) -> str:
    m = _META_CHARSET.search(body[:SNIFF_BYTES]) or _META_CHARSET.search(body[:65536])
    return _codec(m.group(1).decode("ascii", "ignore")) if m else ""


def parse_page(body: bytes, headers: Mapping[str, str] | None = None, url: str = "") -> Page:
    """Read what verify needs off one HTML page. Never raises on bad HTML or bad JSON-LD."""
    text, _ = decode_html(body, headers)
    tree = LexborHTMLParser(text)
    meta = _meta_map(tree)
    ld = list(_jsonld_objects(tree))
    return Page(
        titles=tuple(_titles(tree, meta, ld)),
        site_name=_site_name(meta, ld),
        published=(_first_date(meta, ld, PUBLISHED_META, "datePublished", tree, time_ok=True)
                   or _htmldate(text, url)),
        modified=_first_date(meta, ld, MODIFIED_META, "dateModified", tree, time_ok=False),
        canonical=_attr(tree.css_first('link[rel="canonical"]'), "href"),
        lang=_attr(tree.css_first("html"), "lang"),
        text=_main_text(tree),
        is_accessible_for_free=_free(ld, meta),
    )


def _attr(node: LexborNode | None, name: str) -> str:
    if node is None:
        return ""
    return (node.attributes.get(name) or "").strip()


def _meta_map(tree: LexborHTMLParser) -> dict[str, str]:
    """First value per lower-cased meta key; BBC uses name= where OG says property=."""
    found: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        # cheerio-serialised copies (realpages group E) carry the value in value=, not content=
        content = (attrs.get("content") or attrs.get("value") or "").strip()
        if not content:
            continue
        for key in ("property", "name", "itemprop"):
            k = (attrs.get(key) or "").strip().lower()
            if k and k not in found:
                found[k] = content
    return found


def _jsonld_objects(tree: LexborHTMLParser) -> Iterator[dict[str, Any]]:
    """Every JSON object in ld+json blocks, flattening lists and @graph."""
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text(deep=True) or "null", strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])


def _ld_text(value: Any) -> str:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    return str(value).strip() if isinstance(value, (str, int, float)) else ""


def _titles(tree: LexborHTMLParser, meta: dict[str, str], ld: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Candidates in the order a reader sees them named; empty ones left out."""
    for key, source in TITLE_META:
        if meta.get(key):
            yield source, _clean(meta[key])
    headline = next((_ld_text(o.get("headline")) for o in ld if _ld_text(o.get("headline"))), "")
    if headline:
        yield "jsonld", _clean(headline)
    title = tree.css_first("title")
    if title is not None and title.text().strip():
        yield "title", _clean(title.text())
    h1 = tree.css_first("h1")
    if h1 is not None and h1.text(deep=True).strip():
        yield "h1", _clean(h1.text(deep=True, separator=" "))


def _clean(s: str) -> str:
    """Collapse HTML (ASCII) whitespace only: a full-width space inside a Japanese title is text."""
    return _HTML_SPACE.sub(" ", s).strip(" ")


def _site_name(meta: dict[str, str], ld: list[dict[str, Any]]) -> str:
    for key in SITE_META:
        if meta.get(key):
            return _clean(meta[key])
    for obj in ld:
        name = _ld_text(obj.get("publisher"))
        if name:
            return _clean(name)
    return ""


def _first_date(meta: dict[str, str], ld: list[dict[str, Any]], keys: tuple[str, ...],
                ld_key: str, tree: LexborHTMLParser, *, time_ok: bool) -> str:
    """Meta tags first (what the publisher declares for crawlers), then JSON-LD, then <time>."""
    for key in keys:
        day = parse_date(meta.get(key, ""))
        if day:
            return day
    for obj in ld:
        day = parse_date(_ld_text(obj.get(ld_key)))
        if day:
            return day
    if time_ok:
        for node in tree.css("time[datetime]"):
            day = parse_date(_attr(node, "datetime"))
            if day:
                return day
    return ""


def _htmldate(html: str, url: str) -> str:
    """htmldate's text heuristics, only when the page declares no date: measured on realpages
    it finds 27 more of 146 published dates (72% -> 90%) for ~13 ms on such a page."""
    try:
        found = find_date(html, url=url or None, original_date=True, extensive_search=True)
    except Exception:  # noqa: BLE001 - a fallback heuristic must never fail the page
        return ""
    return parse_date(found or "")


def _free(ld: list[dict[str, Any]], meta: dict[str, str]) -> bool | None:
    """schema.org isAccessibleForFree, as Google asks paywalled publishers to mark it."""
    values = [o.get("isAccessibleForFree") for o in ld if "isAccessibleForFree" in o]
    if meta.get("isaccessibleforfree"):
        values.append(meta["isaccessibleforfree"])
    for v in values:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("false", "true"):
            return v.strip().lower() == "true"
    return None


def _main_text(tree: LexborHTMLParser) -> str:
    """Visible text of <article>/<main> (else <body>) without navigation and scripts."""
    for node in tree.css(_NON_TEXT):
        node.decompose()
    body = _node_text(tree.body)
    for selector in ("article", "main"):
        text = _node_text(tree.css_first(selector))
        if len(text) >= MIN_ARTICLE_TEXT:
            return text[:TEXT_LIMIT]
    return body[:TEXT_LIMIT]


def _node_text(node: LexborNode | None) -> str:
    return _clean(node.text(deep=True, separator=" ")) if node is not None else ""
