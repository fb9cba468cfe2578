"""An article (plain text, HTML or Markdown) -> its footnotes -> Citation fields.

Why by structure, not by the seed's strings: the parser meets articles nobody has read.
A footnote block is the numbered list whose items *look like citations* (a URL, a quoted
title, a date); inside a footnote a field is found by its shape (「」 or “” around a title,
『』 around an outlet, a date next to 参照/閲覧/accessed/retrieved is the access date).
Positions are found on a folded copy of the text (full-width digits and punctuation made
ASCII, one character for one) so every field is sliced out of the text exactly as written.
`raw` is the footnote as a reader sees it: HTML tags and Markdown link/emphasis syntax gone
(the link targets kept as `Note.links`), the back-link marker and the final 。 or . removed.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.citefields import fields_of
from crawler.model import Citation, RowError
from crawler.noteblocks import BACKLINK, Note, best_block, score, text_notes

__all__ = [
    "REQUIRED_FIELDS",
    "Note",
    "decode",
    "detect_format",
    "find_notes",
    "parse_article",
    "parse_footnote",
]

REQUIRED_FIELDS = ("title", "outlet", "published", "url", "accessed")
MAX_NOTE_CHARS = 4000      # a citation is never longer; bounds the work on a runaway "footnote"


# -- bytes and format ----------------------------------------------------------------------

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_FALLBACK_ENCODINGS = ("cp932", "euc_jp")


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not) first; else the charset the page declares; else Japanese legacy codecs."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    declared = _CHARSET.search(data[:4096])
    candidates = ["utf-8"] + ([declared.group(1).decode("ascii")] if declared else [])
    for encoding in candidates + list(_FALLBACK_ENCODINGS):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", "replace")


_HTML_DOC = re.compile(r"<!doctype\s+html|<html[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(r"</(?:p|li|ol|ul|div|a|section|span|sup|h[1-6])>", re.IGNORECASE)
_MD_SIGNS = re.compile(r"^ {0,3}\[\^[^\]\s]+\]:|^#{1,6} |\[[^\]\n]+\]\(https?://", re.MULTILINE)


def detect_format(text: str) -> str:
    """'html', 'markdown' or 'text', by content: a saved page can be called article.txt."""
    if _HTML_DOC.search(text[:4096]) or len(_HTML_TAG.findall(text)) >= 2:
        return "html"
    return "markdown" if _MD_SIGNS.search(text) else "text"


# -- HTML ----------------------------------------------------------------------------------

_FN_ID = re.compile(r"^(?:fn|footnote|endnote|ftn|note)[-_:]?(\d+)$", re.IGNORECASE)
_HEADING = re.compile(r"^\s*(?:注|注釈|脚注|註|注記|参考文献|参考資料|出典|Notes?|Footnotes|Endnotes"
                      r"|References|Sources|Bibliography|Works Cited)\s*[:：]?\s*$", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"^\s*[\[(（［]?\s*(\d{1,4})\s*[\])）］.．:]?\s+")
_BLOCK_TAGS = "p, li, dd, dt, h1, h2, h3, h4, h5, h6, blockquote, td, pre"


def _node_text(node: LexborNode) -> str:
    return re.sub(r"\s+", " ", node.text(separator="") or "").strip()


def _html_note(node: LexborNode, number: str) -> Note:
    """The note's visible text without its back-links (in-page anchors), plus its web links."""
    links = tuple(a.attributes.get("href") or "" for a in node.css("a[href]"))
    for anchor in node.css('a[href^="#"]'):
        anchor.decompose()
    text = _node_text(node)
    m = _LEADING_NUMBER.match(text)
    if m and m.group(1) == number:
        text = text[m.end():]
    return Note(number, text, tuple(u for u in links if re.match(r"https?://", u, re.IGNORECASE)))


def _list_notes(items: list[LexborNode]) -> list[Note]:
    """Items of one list, numbered by id (fn3), value=, the list's start=, or position."""
    notes = []
    start = int(_attr(items[0].parent, "start", "1")) if items and items[0].parent else 1
    for i, node in enumerate(items):
        m = _FN_ID.match(_attr(node, "id", ""))
        number = m.group(1) if m else _attr(node, "value", str(start + i))
        notes.append(_html_note(node, number))
    return notes


def _attr(node: LexborNode | None, name: str, default: str) -> str:
    value = node.attributes.get(name) if node is not None else None
    return value if value and (name == "id" or value.strip().isdigit()) else default


def _by_role(tree: LexborHTMLParser) -> list[LexborNode]:
    items = tree.css('[role="doc-endnote"], [role="doc-footnote"]')
    return items or tree.css('[role="doc-endnotes"] li')


def _by_id(tree: LexborHTMLParser) -> list[LexborNode]:
    found = [n for n in tree.css("[id]") if _FN_ID.match(n.attributes.get("id") or "")]
    return [n for n in found if not any(_contains(o, n) for o in found)]


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    node = inner.parent
    while node is not None:
        if node == outer:
            return True
        node = node.parent
    return False


def _by_heading(tree: LexborHTMLParser) -> list[LexborNode]:
    """The first list after a heading called 注 / 脚注 / Notes / References ..."""
    after_heading = False
    for node in tree.css("h1, h2, h3, h4, h5, h6, ol, ul"):
        if (node.tag or "").startswith("h"):
            after_heading = bool(_HEADING.match(_node_text(node)))
        elif after_heading:
            return node.css("li")
    return []


def _by_list(tree: LexborHTMLParser) -> list[list[LexborNode]]:
    return [[li for li in lst.css("li") if li.parent == lst] for lst in tree.css("ol, ul")]


def _html_notes(text: str) -> list[Note]:
    """Explicit markings first (role, fn ids, a Notes heading), then any <ol>, then text lines."""
    tree = LexborHTMLParser(text)
    for items in (_by_role(tree), _by_id(tree), _by_heading(tree)):
        notes = _list_notes(items) if items else []
        if score(notes):
            return notes
    lists = [_list_notes(items) for items in _by_list(tree) if items]
    best = max(lists, key=score, default=[])
    return best if score(best) else _html_lines(tree)


def _html_lines(tree: LexborHTMLParser) -> list[Note]:
    """Numbered paragraphs (<p>1. ...</p>): innermost blocks as lines, their links kept per line."""
    lines, links = [], []
    for node in tree.css(_BLOCK_TAGS):
        if len(node.css(_BLOCK_TAGS)) > 1:
            continue
        hrefs = [a.attributes.get("href") or "" for a in node.css("a[href]")]
        lines.append(_node_text(node))
        links.append(tuple(h for h in hrefs if h.lower().startswith(("http://", "https://"))))
    return best_block(lines, links)


# -- the article ---------------------------------------------------------------------------

_TERMINAL = re.compile(r"\s*[。．.]\s*$")


def clean_raw(text: str) -> str:
    """The citation without the back-link marker and the sentence's final 。 or full stop."""
    previous = None
    while previous != text:
        previous = text
        text = _TERMINAL.sub("", BACKLINK.sub("", text)).strip()
    return text


def find_notes(text: str) -> list[Note]:
    """The article's footnotes, whichever of the three formats it is written in."""
    kind = detect_format(text)
    notes = _html_notes(text) if kind == "html" else []
    if not notes:                 # Markdown with inline <sup> tags reads as HTML first
        notes = text_notes(text, kind != "text")
    return [Note(n.number, clean_raw(n.text), n.links) for n in notes if n.text.strip()]


def parse_footnote(note: Note) -> tuple[Citation, tuple[str, ...]]:
    """One footnote -> (Citation with what was found, names of required fields not found)."""
    head = note.text[:MAX_NOTE_CHARS]
    citation = replace(fields_of(head, note.links), id=note.number, raw=note.text)
    missing = tuple(f for f in REQUIRED_FIELDS if not getattr(citation, f))
    return citation, missing


def parse_article(text: str | bytes, source: str = "") -> tuple[list[Citation], list[RowError]]:
    """Every footnote as a Citation; a footnote with fields missing is kept and reported."""
    if isinstance(text, bytes):
        text = decode(text)
    notes = find_notes(text)
    if not notes:
        return [], [RowError(source, 0, "no footnote block found (a numbered list of citations)")]
    citations, errors = [], []
    for position, note in enumerate(notes, 1):
        citation, missing = parse_footnote(note)
        citations.append(citation)
        if missing:
            line = int(note.number) if note.number.isdigit() else position
            errors.append(RowError(source, line, f"footnote {note.number}: could not find "
                                   + ", ".join(missing), column=", ".join(missing)))
    return citations, errors
