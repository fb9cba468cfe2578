"""Plain-text and Markdown articles -> their footnote list, as Notes.

Why by evidence: an article has other numbered lists (points of an argument, related
articles), so every numbered run is scored by how much its items look like citations (a
visible URL, an access date, a quoted title, a year) and the best run is the footnotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BACKLINK", "Note", "best_block", "score", "text_notes"]


@dataclass(frozen=True, slots=True)
class Note:
    """One footnote as the article shows it: its number, its text, link targets (HTML/Markdown)."""

    number: str
    text: str
    links: tuple[str, ...] = ()


# The footnote's link back to the text: '(本文に戻る)', '↩︎', '^', 'Back to text'.
BACKLINK = re.compile(r"\s*(?:[(（\[［]\s*(?:本文に戻る|本文へ戻る|戻る|back to (?:the )?text|return to "
                      r"(?:the )?text|back)\s*[)）\]］]|本文に戻る|本文へ戻る|↩\ufe0e?|↑|\^)\s*$", re.IGNORECASE)
_MD_DEF = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:[ \t]*(.*)$")
_ITEM = re.compile(r"^([ \t\u3000]*)(?:[*\-•][ \t]+)?(?:"
                   r"(\d{1,4})[.)．）]|[(（\[［](\d{1,4})[)）\]］]|(?:注|※|\*)[ \t]*(\d{1,4})[.:：)）]?"
                   r"|(\d{1,3})(?=[ \t\u3000]))[ \t\u3000]*(\S.*)$")
# What makes a list item look like a citation, and how much each sign weighs.
_SIGNS = [(re.compile(r"https?://|www\.", re.IGNORECASE), 3),
          (re.compile(r"「[^」]+」|“[^”]+”|『[^』]+』|\"[^\"]{3,}\"|‘[^’]+’"), 1),
          (re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月|\b(?:19|20)\d{2}\b"), 1),
          (re.compile(r"参照|閲覧|アクセス|accessed|retrieved", re.IGNORECASE), 2)]   # + 1 for a link (HTML)
CITED = 3                # a URL alone, or a title with a date and an access word

_WORDY = re.compile(r"[^\W\d_]")     # a letter or kanji: the line says something
MAX_GAP = 3              # footnotes 4, 5, 7: the author skipped 6; the list goes on


@dataclass
class _Item:
    number: str
    start: int              # line index of the item's first line
    indent: int
    lines: list[str]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t\u3000"))


def _numbered_blocks(lines: list[str]) -> list[list[_Item]]:
    """Runs of list items numbered upwards (a skipped number or two is a typo, not a new list);
    a wrapped or indented line continues an item."""
    blocks: list[list[_Item]] = []
    block: list[_Item] = []
    blank = False
    for i, line in enumerate(lines):
        m = _ITEM.match(line) if _WORDY.search(line) else None
        number = str(int(next(g for g in m.groups()[1:5] if g))) if m else ""   # １ -> 1
        if m and (not block or 0 < int(number) - int(block[-1].number) <= MAX_GAP):
            block.append(_Item(number, i, _indent(line), [m.group(6)]))
        elif m:
            blocks.append(block)
            block = [_Item(number, i, _indent(line), [m.group(6)])]
        elif not _WORDY.search(line):       # blank, or a page marker like '- 2 -' or '* * *'
            blank = True
            continue
        elif block and (_indent(line) > block[-1].indent or not blank and not _ended(block[-1])):
            block[-1].lines.append(line.strip())
        elif block:
            blocks.append(block)
            block = []
        blank = False
    return [b for b in blocks + [block] if b]


def _ended(item: _Item) -> bool:
    """An item that closes with its back-link marker takes no unindented continuation line."""
    return bool(BACKLINK.search(item.lines[-1]))


def _weight(note: Note) -> int:
    return sum(weight for pattern, weight in _SIGNS if pattern.search(note.text)) + bool(note.links)


def score(notes: list[Note]) -> int:
    """Evidence that a list is the footnotes; 0 unless at least half its items look cited.

    Items with a visible URL or an access date rank first: a list of related articles has
    titles, dates and links too, but never '参照' or 'accessed'.
    """
    weights = [_weight(n) for n in notes]
    cited = sum(w >= CITED for w in weights)
    strong = sum(w - bool(n.links) >= CITED for w, n in zip(weights, notes))
    return strong * 1000 + sum(weights) if notes and cited * 2 >= len(notes) else 0


def best_block(lines: list[str], links: list[tuple[str, ...]] | None = None) -> list[Note]:
    """The run of citation-like blocks with the most citations; the later one on a tie.

    Blocks whose numbering continues the previous one (a page header cut the list) join it.
    """
    best: list[Note] = []
    run: list[Note] = []
    for block in _numbered_blocks(lines):
        notes = [_item_note(item, links) for item in block]
        if not score(notes):
            continue
        continues = run and 0 < int(notes[0].number) - int(run[-1].number) <= MAX_GAP
        run = run + notes if continues else notes
        if score(run) >= score(best):
            best = run
    return best


def _item_note(item: _Item, links: list[tuple[str, ...]] | None) -> Note:
    found = links[item.start] if links else ()
    return Note(item.number, " ".join(item.lines).strip(), found)


def _markdown_defs(lines: list[str]) -> list[Note]:
    """`[^n]: text` definitions with their indented continuation lines, in document order."""
    notes: list[tuple[str, list[str]]] = []
    for line in lines:
        m = _MD_DEF.match(line)
        if m:
            notes.append((m.group(1), [m.group(2)]))
        elif notes and line.startswith(("  ", "\t")) and line.strip():
            notes[-1][1].append(line.strip())
        elif line.strip():
            notes.append(("", []))          # a paragraph ends the definition
    seen: dict[str, Note] = {}
    for label, parts in notes:
        if label and label not in seen:
            seen[label] = Note(label, " ".join(parts).strip())
    return list(seen.values())


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?(https?://[^\s<>()]+(?:\([^\s()]*\)[^\s<>()]*)*)>?"
                      r"(?:\s+\"[^\"]*\")?\s*\)")
_MD_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2}|_{1,2})(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_URLISH = re.compile(r"<[^>\s]+>|https?://\S+")


def _unmark(note: Note) -> Note:
    """Markdown -> the text a reader sees: [label](url) -> label (url kept), *emphasis* -> text."""
    links = tuple(m.group(2) for m in _MD_LINK.finditer(note.text))
    text = _MD_LINK.sub(lambda m: m.group(1), note.text)
    pieces, last = [], 0
    for m in _URLISH.finditer(text):
        pieces += [_MD_EMPHASIS.sub(r"\2", text[last:m.start()]), m.group(0)]
        last = m.end()
    pieces.append(_MD_EMPHASIS.sub(r"\2", text[last:]))
    return Note(note.number, "".join(pieces), note.links + links)


def text_notes(text: str, markdown: bool) -> list[Note]:
    lines = text.splitlines()
    defs = _markdown_defs(lines) if markdown else []
    notes = defs if score(defs) else best_block(lines)
    return [_unmark(n) for n in notes] if markdown else notes

