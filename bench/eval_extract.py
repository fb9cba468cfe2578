"""Measure title and date extraction on ../shared/realpages (skips cleanly when absent).

An evaluation, not a test: it prints accuracy per field, by group and language, so a change
to extract.py or titles.py can be judged on 150 real pages rather than on our own fixtures.
Run: make eval   (or python bench/eval_extract.py [--show-misses] [--htmldate])
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import sites, titles
from crawler.extract import parse_page
from crawler.model import Citation, Fetched, Page, Verdict
from crawler.verify import judge

REALPAGES = ROOT.parent / "shared" / "realpages"


def load(base: Path) -> list[dict[str, str]]:
    with open(base / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    groups = {}
    with open(base / "page_details.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            groups[row["id"]] = row["group"]
    for row in rows:
        row["group"] = groups.get(row["id"], "?")
    return rows


def htmldate_published(body: bytes) -> str:
    from htmldate import find_date
    try:
        return find_date(body.decode("utf-8", "replace"), original_date=True, extensive_search=False) or ""
    except Exception:  # noqa: BLE001 - a fallback library must not stop the evaluation
        return ""


def judge_as_citation(row: dict[str, str], body: bytes, page: Page) -> Verdict:
    """The whole decision tree on the page as if a citation with the expected title and
    date pointed at it and the server answered 200: every status but ok/paywalled is wrong."""
    cited = Citation(id=row["id"], title=row["expected_title"], url=row["url"],
                     published=row["expected_published"])
    fetched = Fetched(url=row["url"], final_url=row["url"], status_code=200, body=body,
                      headers={"content-type": "text/html"}, fetched_at="2026-01-01T00:00:00+00:00")
    return judge(cited, fetched, page, today=dt.date(2026, 1, 1))


def evaluate(rows: list[dict[str, str]], base: Path, args: argparse.Namespace) -> None:
    tally: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    started = time.perf_counter()
    for row in rows:
        body = (base / row["file"]).read_bytes()
        page = parse_page(body, None, row["url"])
        published = page.published
        if args.htmldate and not published:
            published = htmldate_published(body)
        for name, rule in (("bot_wall", sites.bot_wall(page, {}, body[:65536].decode("utf-8", "replace"))),
                           ("error_page", sites.error_page(page)), ("paywall", sites.paywall(page)),
                           ("parked", sites.parked(page))):
            if rule:   # every realpage is a real article: a hit is a false alarm, except that
                misses.append(f"rule  {row['id']} {name}:{rule}")   # paywalls are real
                _count(tally, "all", f"rule {name}:{rule}", True)
        verdict = judge_as_citation(row, body, page)
        _count(tally, "all", f"judge {verdict.status}/{verdict.date_verdict}", True)
        best, score = titles.best_title(row["expected_title"], page)
        ok_title = score >= titles.DEFAULT_THRESHOLD
        keys = ("all", f"group {row['group']}", f"lang {row['language']}")
        for key in keys:
            _count(tally, key, "title", ok_title)
        if not ok_title:
            misses.append(f"title {row['id']} [{score:.0f}] want={row['expected_title']!r} got={best!r}")
        if row["expected_published"]:
            ok_date = published == row["expected_published"]
            for key in keys:
                _count(tally, key, "published", ok_date)
            if not ok_date:
                misses.append(f"date  {row['id']} want={row['expected_published']} got={published!r}")
    elapsed = time.perf_counter() - started
    report(tally, elapsed, len(rows))
    if args.show_misses:
        print("\n".join(misses))


def _count(tally: dict, key: str, field: str, ok: bool) -> None:
    cell = tally[(key, field, "")]
    cell[0] += ok
    cell[1] += 1


def report(tally: dict, elapsed: float, n: int) -> None:
    keys = sorted({k for k, _, _ in tally}, key=lambda k: (k != "all", k))
    print(f"{'slice':<14} {'title':>14} {'published':>14}")
    for key in keys:
        cells = []
        for field in ("title", "published"):
            ok, total = tally.get((key, field, ""), [0, 0])
            cells.append(f"{ok}/{total} {100 * ok / total:5.1f}%" if total else "-")
        print(f"{key:<14} {cells[0]:>14} {cells[1]:>14}")
    alarms = {f[5:]: ok for (k, f, _), (ok, _t) in tally.items() if f.startswith("rule ")}
    print("page rules firing on these real articles:", alarms or "none")
    judged = {f[6:]: ok for (k, f, _), (ok, _t) in sorted(tally.items()) if f.startswith("judge ")}
    print("judge() on each page as a 200 answer (status/date_verdict):", judged)
    print(f"{n} pages in {elapsed:.2f}s ({1000 * elapsed / max(n, 1):.1f} ms/page)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realpages", type=Path, default=REALPAGES)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--htmldate", action="store_true", help="use htmldate when metadata has no date")
    args = parser.parse_args()
    if not (args.realpages / "manifest.csv").exists():
        print(f"skip: no realpages at {args.realpages}")
        return 0
    evaluate(load(args.realpages), args.realpages, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
