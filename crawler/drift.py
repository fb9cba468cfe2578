"""Text fingerprints for drift: has the cited page's text changed since we first saw it?

A bottom-k MinHash sketch over character 5-gram shingles: character shingles work for
Japanese and Chinese without a tokenizer, and the sketch estimates the Jaccard similarity of
two texts from a fixed-size string that the store can keep per fetch.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata

__all__ = ["SHINGLE", "SKETCH", "fingerprint", "similarity"]

SHINGLE = 5          # characters per shingle: long enough to carry meaning in CJK and Latin text
SKETCH = 128         # hashes kept: the similarity estimate's error is about 1/sqrt(SKETCH) ~ 9%
PREFIX = "mh1:"      # format tag, so a later change of scheme is detectable in stored data
_SPACE = re.compile(r"\s+")


def _shingles(text: str) -> set[str]:
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    if len(text) <= SHINGLE:
        return {text} if text else set()
    return {text[i:i + SHINGLE] for i in range(len(text) - SHINGLE + 1)}


def _hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


def fingerprint(text: str) -> str:
    """'' for empty text; else 'mh1:' + the SKETCH smallest 64-bit shingle hashes in hex."""
    hashes = heapq.nsmallest(SKETCH, {_hash(s) for s in _shingles(text or "")})
    return PREFIX + "".join(f"{h:016x}" for h in hashes) if hashes else ""


def _decode(fp: str) -> set[int]:
    body = fp[len(PREFIX):] if fp.startswith(PREFIX) else ""
    return {int(body[i:i + 16], 16) for i in range(0, len(body), 16)}


def similarity(fp_a: str, fp_b: str) -> float:
    """Estimated Jaccard similarity 0..1 of the two texts (1.0 when both are empty)."""
    a, b = _decode(fp_a), _decode(fp_b)
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    union_k = heapq.nsmallest(min(SKETCH, len(a | b)), a | b)
    shared = sum(1 for h in union_k if h in a and h in b)
    return round(shared / len(union_k), 3)
