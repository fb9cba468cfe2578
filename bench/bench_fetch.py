"""`make bench`: our Fetcher against lychee on one loopback fixture web, same run.

Not a test: it prints numbers and writes them to bench/out/. Two parts:
  1. throughput: 5,000 small pages over 10 hosts with ~20 ms server latency,
     per-host concurrency 8 and no delay for both tools; each client runs in
     its own process so URLs/s, CPU seconds per 1,000 URLs and peak RSS
     (os.wait4 rusage of that child alone) are its own.
  2. politeness: 200 URLs over 10 hosts with a 1 s per-host interval and one
     request in flight per host; wall time against the lower bound
     (busiest host's URL count - 1) x delay, and gaps shorter than the delay
     counted from the *server's* arrival times.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))
import itertools

from fixture_server import Farm

HERE = Path(__file__).parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
HOSTS, PAGES, LATENCY, PER_HOST, REPEAT = 10, 5000, 0.02, 8, 5
SKIP_POLITE = bool(os.environ.get("BENCH_SKIP_POLITE"))
POLITE_URLS, POLITE_DELAY = 200, 1.0
TOLERANCE = 0.005      # seconds: a second, lenient count forgives this much clock/arrival jitter


@dataclass
class Run:
    tool: str
    part: str
    urls: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    ok: int
    violations: int = 0                # gaps shorter than the delay, strictly
    lenient_violations: int = 0        # gaps shorter than the delay by more than TOLERANCE
    min_gap_s: float = 0.0
    lower_bound_s: float = 0.0         # (busiest host's URLs - 1) x delay
    server_bound_s: float = 0.0        # (busiest host's requests seen, robots.txt incl. - 1) x delay

    @property
    def urls_per_s(self) -> float:
        return self.urls / self.wall_s

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu_s / self.urls * 1000


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one child process, measured alone."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def ours_cmd(urlfile: str, concurrency: int, per_host: int, delay: float) -> list[str]:
    return [sys.executable, str(HERE / "run_ours.py"), urlfile, str(concurrency),
            str(per_host), str(delay)]


def lychee_cmd(urlfile: str, concurrency: int, per_host: int, delay: float) -> list[str]:
    return [str(BIN / "lychee"), "--format", "json", "--no-progress", "--max-retries", "0",
            "--max-concurrency", str(concurrency), "--host-concurrency", str(per_host),
            "--host-request-interval", f"{int(delay * 1000)}ms", urlfile]


def check_cmd(urlfile: str, concurrency: int, per_host: int, delay: float) -> list[str]:
    """The whole `crawler check` (registry, fetch, verify, store), not just the fetcher."""
    work = Path(urlfile).parent
    registry = work / "bench-citations.csv"
    with registry.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "authors", "title", "outlet", "published", "url", "accessed",
                      "lang", "raw"])
        for i, url in enumerate(Path(urlfile).read_text().split(), 1):
            out.writerow([i, "", f"Page {urlsplit(url).path}", "Farm", "", url, "", "en", ""])
    db = work / f"bench-{time.monotonic_ns()}.db"
    return [str(BIN / "crawler"), "check", str(registry), "--db", str(db), "--cache-dir",
            str(work / "bench-cache"), "--allow-private", "--no-archive",
            "--no-lookup-archives", "--no-progress", "--refresh", "--max-retries", "0",
            "--concurrency", str(concurrency), "--per-host", str(per_host), "--delay", str(delay),
            "--fail-on", "none", "--format", "csv"]


def ok_count(tool: str, stdout: str) -> int:
    if tool == "crawler check":
        rows = list(csv.DictReader(io.StringIO(stdout)))
        return sum(r["http_status"] == "200" for r in rows)
    if tool == "ours":
        return int(json.loads(stdout.strip().splitlines()[-1]).get("200", 0))
    return int(json.loads(stdout)["successful"])


def write_urls(farm: Farm, per_host: int, path: Path) -> list[str]:
    """Interleaved across hosts, as a citation list would be."""
    urls = [f"{farm.base(h)}/page/{i}" for i in range(per_host) for h in range(HOSTS)]
    path.write_text("\n".join(urls) + "\n")
    return urls


def politeness(farm: Farm, delay: float) -> tuple[int, int, float, float]:
    """(strict violations, lenient violations, shortest gap, bound from requests seen)."""
    logs = [sorted(times) for times in farm.arrivals.values()]
    gaps = [b - a for times in logs for a, b in itertools.pairwise(times)]
    strict = sum(g < delay for g in gaps)
    lenient = sum(g < delay - TOLERANCE for g in gaps)
    busiest = max((len(t) for t in logs), default=1)
    return strict, lenient, min(gaps, default=0.0), (busiest - 1) * delay


def throughput(farm: Farm, work: Path) -> list[Run]:
    urlfile = work / "urls.txt"
    write_urls(farm, PAGES // HOSTS, urlfile)
    conc = HOSTS * PER_HOST
    runs = []
    for _ in range(REPEAT):                   # alternate so drift hits both tools alike
        for tool, make in TOOLS:
            farm.reset()
            wall, cpu, rss, out = measure(make(str(urlfile), conc, PER_HOST, 0.0))
            runs.append(Run(tool, "throughput", PAGES, wall, cpu, rss, ok_count(tool, out)))
    return runs


def polite(farm: Farm, work: Path) -> list[Run]:
    urlfile = work / "polite.txt"
    write_urls(farm, POLITE_URLS // HOSTS, urlfile)
    bound = (POLITE_URLS // HOSTS - 1) * POLITE_DELAY
    runs = []
    for tool, make in TOOLS:
        farm.reset()
        wall, cpu, rss, out = measure(make(str(urlfile), 16, 1, POLITE_DELAY))
        strict, lenient, gap, seen_bound = politeness(farm, POLITE_DELAY)
        runs.append(Run(tool, "politeness", POLITE_URLS, wall, cpu, rss, ok_count(tool, out),
                        violations=strict, lenient_violations=lenient, min_gap_s=gap,
                        lower_bound_s=bound, server_bound_s=seen_bound))
    return runs


TOOLS = (("ours", ours_cmd), ("crawler check", check_cmd), ("lychee", lychee_cmd))


def median_run(runs: list[Run], tool: str) -> Run:
    mine = sorted((r for r in runs if r.tool == tool), key=lambda r: r.wall_s)
    return mine[len(mine) // 2]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def table(tp: list[Run], pol: list[Run]) -> str:
    lines = [f"# bench_fetch ({time.strftime('%Y-%m-%d %H:%M')})", "", f"machine: {machine()}", "",
             f"## Throughput: {PAGES} pages, {HOSTS} hosts, {LATENCY * 1000:.0f} ms latency, "
             f"per-host {PER_HOST}, delay 0, global {HOSTS * PER_HOST} (median of {REPEAT})", "",
             "| tool | URLs/s | CPU s / 1,000 URLs | peak RSS MB | ok | runs URLs/s |",
             "|---|---|---|---|---|---|"]
    for tool, _ in TOOLS:
        m = median_run(tp, tool)
        each = ", ".join(f"{r.urls_per_s:.0f}" for r in tp if r.tool == tool)
        lines.append(f"| {tool} | {m.urls_per_s:.0f} | {m.cpu_per_1000:.2f} | "
                     f"{m.peak_rss_mb:.0f} | {m.ok}/{m.urls} | {each} |")
    lines += ["", f"## Politeness: {POLITE_URLS} URLs, {HOSTS} hosts, delay {POLITE_DELAY:.0f} s, "
              "1 in flight per host", "",
              "| tool | wall s | bound s (URLs) | wall / bound | bound s (requests seen) "
              f"| wall / that | violations, strict | violations, > {TOLERANCE * 1000:.0f} ms short "
              "| shortest gap s | ok |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in pol:
        lines.append(f"| {r.tool} | {r.wall_s:.1f} | {r.lower_bound_s:.0f} | "
                     f"{r.wall_s / r.lower_bound_s:.2f} | {r.server_bound_s:.0f} | "
                     f"{r.wall_s / r.server_bound_s:.2f} | {r.violations} | "
                     f"{r.lenient_violations} | {r.min_gap_s:.3f} | {r.ok}/{r.urls} |")
    lines += ["", "Violations are gaps between two requests to one host, from the server's "
              "arrival times, shorter than the delay. ours fetches /robots.txt once per host "
              "(answered 404 here): one request more per host than lychee, which does not read "
              "robots.txt; 'requests seen' counts it. 'ours' is the fetch engine alone (crawler.fetch."
              "Fetcher); 'crawler check' is the whole job through the CLI: registry, fetch, "
              "verify, store.", ""]
    return "\n".join(lines)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    farm = Farm(hosts=HOSTS, latency=LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tp = throughput(farm, Path(tmp))
            pol = [] if SKIP_POLITE else polite(farm, Path(tmp))
    finally:
        farm.close()
    text = table(tp, pol)
    print(text)
    (OUT / "bench_fetch.md").write_text(text)
    rows = [{**asdict(r), "urls_per_s": r.urls_per_s, "cpu_per_1000": r.cpu_per_1000}
            for r in tp + pol]
    (OUT / "bench_fetch.json").write_text(json.dumps({"machine": machine(), "runs": rows},
                                                     indent=1))


if __name__ == "__main__":
    main()
