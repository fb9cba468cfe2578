"""Trend chart: citations per status group, one stacked bar per run, as inline SVG.

No JavaScript and no network, so the report works from a file:// URL, in a mail attachment
and on paper. Built with ElementTree rather than string pasting so every label is escaped.
The 18 statuses are folded into four groups a reader can tell apart at a glance (colours from
the Okabe-Ito palette, safe for colour-blind readers); each bar's tooltip (<title>) lists the
exact status counts. Each labelled bar reads "#<run id>", with the start date under the first
labelled run of each day, so several runs on one day stay apart.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from crawler.model import RunInfo, Status

MAX_RUNS = 60            # older runs fall off the left edge; the store keeps them
WIDTH, HEIGHT = 760, 270
LEFT, RIGHT, TOP, BOTTOM = 48, 140, 18, 52

GROUPS: tuple[tuple[str, str, str], ...] = (   # (key, label, colour), drawn bottom-up
    ("ok", "ok / redirected", "#009E73"),
    ("broken", "broken", "#D55E00"),
    ("unknown", "could not check", "#E69F00"),
    ("other", "other", "#999999"),
)


def group_of(status: str) -> str:
    """Which bar segment a status belongs to; unknown strings (older stores) go to 'other'."""
    try:
        s = Status(status)
    except ValueError:
        return "other"
    if s.is_ok:
        return "ok"
    if s.is_dead_candidate:
        return "broken"
    if s.is_inconclusive:
        return "unknown"
    return "other"


def group_members(key: str) -> list[str]:
    """The statuses drawn in one group, in the model's order (for the legend's explanation)."""
    return [s.value for s in Status if group_of(s.value) == key]


def grouped(counts: dict[str, int]) -> dict[str, int]:
    out = {key: 0 for key, _, _ in GROUPS}
    for status, n in counts.items():
        out[group_of(status)] += n
    return out


def nice_step(top: int, ticks: int = 5) -> int:
    """A round tick step (1, 2, 5, 10, 20, ...) giving about `ticks` gridlines."""
    raw = max(top, 1) / ticks
    mag = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for mult in (1, 2, 5, 10):
        if mult * mag >= raw:
            return max(int(mult * mag), 1)
    return int(10 * mag)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    node = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): str(v)
                                       for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def trend_svg(runs: Sequence[RunInfo]) -> str:
    """The chart for `runs` (oldest first) as an <svg> string, safe to inline in HTML."""
    runs = list(runs)[-MAX_RUNS:]
    svg = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "class": "trend",
                             "viewBox": f"0 0 {WIDTH} {HEIGHT}", "role": "img",
                             "width": str(WIDTH), "height": str(HEIGHT)})
    _el(svg, "title", "Citations per status group, one bar per run")
    if not runs:
        _el(svg, "text", "no runs recorded yet", x=WIDTH // 2, y=HEIGHT // 2,
            text_anchor="middle")
        return ET.tostring(svg, encoding="unicode")
    top = max(sum(r.counts.values()) for r in runs) or 1
    step = nice_step(top)
    ymax = step * math.ceil(top / step)
    _axes(svg, ymax, step)
    _bars(svg, runs, ymax)
    _legend(svg)
    return ET.tostring(svg, encoding="unicode")


def _plot_box() -> tuple[int, int, int, int]:
    return LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _axes(svg: ET.Element, ymax: int, step: int) -> None:
    x0, y0, w, h = _plot_box()
    for value in range(0, ymax + 1, step):
        y = y0 + h - h * value / ymax
        _el(svg, "line", x1=x0, x2=x0 + w, y1=f"{y:.1f}", y2=f"{y:.1f}", class_="grid")
        _el(svg, "text", str(value), x=x0 - 6, y=f"{y + 4:.1f}", text_anchor="end",
            class_="tick")
    _el(svg, "line", x1=x0, x2=x0, y1=y0, y2=y0 + h, class_="axis")
    _el(svg, "line", x1=x0, x2=x0 + w, y1=y0 + h, y2=y0 + h, class_="axis")
    _el(svg, "text", "citations", x=12, y=y0 + h / 2, text_anchor="middle",
        transform=f"rotate(-90 12 {y0 + h / 2})", class_="label")
    _el(svg, "text", "run # and start date (UTC)", x=x0 + w / 2, y=HEIGHT - 6,
        text_anchor="middle", class_="label")


def _bars(svg: ET.Element, runs: list[RunInfo], ymax: int) -> None:
    x0, y0, w, h = _plot_box()
    slot = w / len(runs)
    bar = max(min(slot * 0.7, 48), 1.0)
    every = max(1, math.ceil(len(runs) / 8))       # at most ~8 x labels
    last_day = None
    for i, run in enumerate(runs):
        x = x0 + slot * i + (slot - bar) / 2
        g = _el(svg, "g", class_="run")
        _el(g, "title", _tooltip(run))
        y: float = y0 + h
        counts = grouped(run.counts)
        for key, _, colour in GROUPS:
            seg = h * counts[key] / ymax
            if seg > 0:
                y -= seg
                _el(g, "rect", x=f"{x:.1f}", y=f"{y:.1f}", width=f"{bar:.1f}",
                    height=f"{seg:.1f}", fill=colour, class_=f"seg-{key}")
        if (len(runs) - 1 - i) % every == 0:          # anchored on the latest run
            cx = f"{x + bar / 2:.1f}"
            _el(svg, "text", f"#{run.id}", x=cx, y=y0 + h + 16, text_anchor="middle",
                class_="tick")
            day = run.started_at[:10]
            if day and day != last_day:
                _el(svg, "text", day, x=cx, y=y0 + h + 30, text_anchor="middle",
                    class_="tick date")
            last_day = day


def _tooltip(run: RunInfo) -> str:
    parts = ", ".join(f"{s} {n}" for s, n in sorted(run.counts.items(), key=lambda kv: -kv[1]))
    return f"run #{run.id}, started {when(run.started_at)}: {parts or 'no citations'}"


def when(iso: str) -> str:
    """'2026-11-24T17:05:09+00:00' -> '2026-11-24 17:05 UTC' (naive times are taken as UTC)."""
    try:
        t = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or ""
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _legend(svg: ET.Element) -> None:
    x = WIDTH - RIGHT + 14
    for i, (key, label, colour) in enumerate(reversed(GROUPS)):
        y = TOP + 8 + i * 22
        _el(svg, "rect", x=x, y=y, width=12, height=12, fill=colour, class_=f"seg-{key}")
        _el(svg, "text", label, x=x + 18, y=y + 10, class_="legend")
