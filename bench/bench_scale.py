"""`make bench-scale`: one `crawler check` over N citations on H loopback hosts, and the report
query at 100,000 citations x 30 runs.

Not a test: it prints numbers and writes them to bench/out/scale-<N>.json.

Part 1 (the check). bench/farm.py serves H hosts (addresses x ports, one asyncio
process of its own); a registry of N citations, spread round-robin over the hosts,
is written to a temporary directory; `crawler check` runs in a child process of its
own, so wall time, CPU (rusage of that child alone), peak RSS (ru_maxrss) and an RSS
curve (VmRSS sampled from /proc) are the crawler's alone. Afterwards the store must
hold N verdicts and pass `PRAGMA integrity_check`. Fairness across hosts comes from
the *server's* arrival log: when each host got its last request (as a fraction of the
run's fetch span; a fair scheduler finishes every host near the end, one that walks
hosts in turn finishes them evenly spread), and Jain's index over per-host request
counts in the first half of the span (1.0 = perfectly even).

Part 2 (the store). A fresh store gets `--store-n` citations and `--runs` finished
runs of results, generated directly in SQLite; then `store.build_summary` (what every
report format starts from) is timed on the latest run, cold and warm, with the
query plans of its statements.

usage: python bench/bench_scale.py [--n 5000] [--hosts 2000] [--store-n 100000] [--runs 30]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from crawler.registry import COLUMNS as REGISTRY_COLUMNS
from farm import title_for

COLUMNS = list(REGISTRY_COLUMNS)


def crawler_argv() -> list[str]:
    return [sys.executable, "-m", "crawler"]


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version}


# -- part 1: the check ---------------------------------------------------------------

def start_farm(tmp: Path, hosts: int, latency: float) -> tuple[subprocess.Popen, list[str]]:
    ports = 10 if hosts >= 10 else 1
    addrs = (hosts + ports - 1) // ports
    ready, stats = tmp / "farm-ready.json", tmp / "farm-stats.json"
    proc = subprocess.Popen([sys.executable, str(HERE / "farm.py"), "--addrs", str(addrs),
                             "--ports", str(ports), "--latency", str(latency),
                             "--ready", str(ready), "--stats", str(stats)])
    deadline = time.monotonic() + 60
    while not ready.exists():                  # bounded by the deadline
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("farm did not start")
        time.sleep(0.05)
    time.sleep(0.05)                           # the writer closes the file right after
    return proc, json.loads(ready.read_text())["hosts"][:hosts]


def write_registry(path: Path, n: int, hosts: list[str]) -> None:
    """Round-robin over hosts, streamed to disk; ids 1..n."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for k in range(1, n + 1):
            netloc = hosts[k % len(hosts)]
            w.writerow([k, "Farm Writer", title_for(str(k), netloc), "Farm", "2025-01-09",
                        f"http://{netloc}/a/{k}", "2025-12-22", "en", ""])


def rss_kb(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_check(tmp: Path, args: argparse.Namespace) -> dict:
    db = tmp / "scale.db"
    argv = [*crawler_argv(), "check", str(tmp / "citations.csv"), "--db", str(db),
            "--cache-dir", str(tmp / "cache"), "--allow-private", "--delay", str(args.delay),
            "--concurrency", str(args.concurrency), "--max-retries", "1",
            "--no-lookup-archives", "--no-progress", "--format", "csv",
            "-o", str(tmp / "out.csv"), *( [] if args.archive else ["--no-archive"])]
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(
        tmp / "check.err", "w"))
    curve: list[tuple[float, int]] = []
    status = rusage = None
    deadline = t0 + args.timeout
    while status is None:                      # bounded by args.timeout
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, rusage = st, ru
            break
        curve.append((round(time.monotonic() - t0, 1), rss_kb(proc.pid)))
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            deadline = float("inf")
        time.sleep(1.0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    conn = sqlite3.connect(db)
    verdicts = conn.execute("select count(*) from results").fetchone()[0]
    statuses = dict(conn.execute("select status, count(*) from results group by status"))
    integrity = conn.execute("pragma integrity_check").fetchone()[0]
    state = conn.execute("select state from runs order by id desc limit 1").fetchone()
    conn.close()
    cpu = rusage.ru_utime + rusage.ru_stime
    err_tail = (tmp / "check.err").read_text(errors="replace").splitlines()[-3:]
    return {"exit_code": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "urls_per_s": round(args.n / wall, 1),
            "cpu_s_per_1000": round(cpu / args.n * 1000, 2),
            "peak_rss_mb": round(rusage.ru_maxrss / 1024, 1), "verdicts": verdicts,
            "statuses": statuses, "integrity": integrity, "run_state": state[0] if state else "",
            "rss_curve_mb": [(t, round(k / 1024, 1)) for t, k in curve[:: max(1, len(curve) // 40)]],
            "stderr_tail": err_tail}


def fairness(stats_path: Path) -> dict:
    data = json.loads(stats_path.read_text())
    hosts = {h: ts for h, ts in data["hosts"].items() if ts}
    if not hosts:
        return {}
    start = min(ts[0] for ts in hosts.values())
    end = max(ts[-1] for ts in hosts.values())
    span = max(end - start, 1e-9)
    finish = sorted((ts[-1] - start) / span for ts in hosts.values())
    mid = start + span / 2
    first_half = [sum(1 for t in ts if t <= mid) / len(ts) for ts in hosts.values()]
    jain = sum(first_half) ** 2 / (len(first_half) * sum(x * x for x in first_half) or 1)

    def pct(xs: list[float], p: float) -> float:
        return round(sorted(xs)[min(len(xs) - 1, int(p * len(xs)))], 3)
    return {"hosts_seen": len(hosts), "requests": data["requests"],
            "fetch_span_s": round(span, 1),
            "host_finish_frac": {"min": pct(finish, 0), "p10": pct(finish, 0.1),
                                 "p50": pct(finish, 0.5), "max": pct(finish, 1)},
            "first_half_share": {"min": pct(first_half, 0), "p50": pct(first_half, 0.5),
                                 "max": pct(first_half, 1)},
            "jain_first_half": round(jain, 4)}


# -- part 2: the report query at scale ---------------------------------------------------

STATUSES = ["ok"] * 90 + ["not_found"] * 4 + ["redirected"] * 3 + ["timeout", "blocked",
                                                                      "server_error"]


def build_store(path: Path, n: int, runs: int) -> float:
    from crawler import store
    t0 = time.monotonic()
    db = store.open_db(path)
    conn = db.conn
    rnd = random.Random(7)
    with conn:
        conn.executemany(
            "insert into citations (id, authors, title, outlet, published, url, accessed, lang,"
            " raw, updated_at) values (?,?,?,?,?,?,?,?,?,?)",
            ((str(k), "Writer", f"Article {k} title words", "Outlet", "2025-01-09",
              f"http://h{k % 2000}.example/a/{k}", "2025-12-22", "en", "", "2026-01-01")
             for k in range(1, n + 1)))
    from crawler import memento
    memento.ensure_tables(db)                 # 1% of URLs have a known archived copy
    with conn:
        conn.executemany(
            "insert into archives (url, accessed, kind, archive_url, archive_date, archive_status,"
            " status, error, looked_up_at) values (?,?,?,?,?,?,?,?,?)",
            ((f"http://h{k % 2000}.example/a/{k}", "2025-12-22", "availability",
              f"https://web.archive.org/web/2025/http://h{k % 2000}.example/a/{k}", "2025-06-01",
              200, "found", "", "2026-01-01") for k in range(1, n + 1, 100)))
    for r in range(1, runs + 1):
        day = f"2026-01-{1 + (r - 1) % 28:02d}T03:17:00+00:00"
        statuses = [rnd.choice(STATUSES) for _ in range(n)]
        counts: dict[str, int] = {}
        for st in statuses:
            counts[st] = counts.get(st, 0) + 1
        with conn:
            cur = conn.execute("insert into runs (started_at, finished_at, state, pid, registry,"
                               " settings, counts) values (?,?,?,?,?,?,?)",
                               [day, day, "finished", 1, "citations.csv", "{}",
                                json.dumps(counts)])
            run_id = cur.lastrowid
            conn.executemany(
                "insert into results (run_id, citation_id, url, checked_at, status, http_status,"
                " final_url, redirects, page_title, title_score, title_match, published_found,"
                " modified_found, date_verdict, drift, fingerprint, health, failing_since,"
                " url_status, attempts, elapsed_ms, error)"
                " values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ((run_id, str(k), f"http://h{k % 2000}.example/a/{k}", day, s,
                  404 if s == "not_found" else 200, "", "[]", f"Article {k} title words", 100.0,
                  1, "2025-01-09", "", "ok", 1.0, f"{k:016x}", "ok", "", "live", 1, 120, "")
                 for k, s in zip(range(1, n + 1), statuses)))
    conn.execute("pragma wal_checkpoint(truncate)")
    return time.monotonic() - t0


def time_summary(path: Path) -> dict:
    from crawler import store
    out: dict = {}
    import tracemalloc
    for label in ("cold", "warm", "traced"):
        db = store.open_db(path)
        if label == "traced":
            tracemalloc.start()
        t0 = time.monotonic()
        summary = store.build_summary(db)
        if label == "traced":
            out["build_summary_peak_python_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
        else:
            out[f"build_summary_{label}_s"] = round(time.monotonic() - t0, 2)
        out["rows"] = len(summary.rows) if summary else 0
        out["history_runs"] = len(summary.history) if summary else 0
        del summary
        db.conn.close()
    db = store.open_db(path)
    run = db.execute("select max(id) from runs").fetchone()[0]
    for name, part in [("runs", lambda: store.runs(db)), ("changes", lambda: store.changes(db, run)),
                       ("iter_rows", lambda: sum(1 for _ in store.iter_rows(db, run)))]:
        t0 = time.monotonic()
        part()
        out[f"part_{name}_s"] = round(time.monotonic() - t0, 2)
    db.conn.close()
    db = store.open_db(path)
    run = db.execute("select max(id) from runs").fetchone()[0]
    plans = {}
    for name, sql, args in [
        ("rows", "select r.*, c.* from results r left join citations c on c.id = r.citation_id"
                 " where r.run_id = ? order by cast(r.citation_id as integer), r.citation_id",
         [run]),
        ("counts", "select status, count(*) from results where run_id = ? group by status",
         [run]),
        ("history_of_one", "select r.checked_at, r.status from results r join runs u on"
                           " u.id = r.run_id where r.citation_id = ? and u.state !="
                           " 'inconclusive' order by r.run_id", ["17"]),
    ]:
        plans[name] = [row[-1] for row in db.execute("explain query plan " + sql, args)]
    t0 = time.monotonic()
    for k in range(1, 1001):
        store.status_history(db, str(k))
    out["status_history_per_1000_s"] = round(time.monotonic() - t0, 3)
    out["plans"] = plans
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000, help="citations in the check (full: 100000)")
    p.add_argument("--hosts", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--delay", type=float, default=0.0, help="per-host delay, seconds")
    p.add_argument("--latency", type=float, default=0.005, help="server latency, seconds")
    p.add_argument("--archive", action="store_true", help="write WARC snapshots too")
    p.add_argument("--timeout", type=float, default=1800, help="SIGTERM the check after this")
    p.add_argument("--store-n", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--skip-check", action="store_true")
    p.add_argument("--skip-store", action="store_true")
    args = p.parse_args()

    report: dict = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as d:
        tmp = Path(d)
        if not args.skip_check:
            farm, hosts = start_farm(tmp, args.hosts, args.latency)
            try:
                write_registry(tmp / "citations.csv", args.n, hosts)
                report["check"] = run_check(tmp, args)
            finally:
                farm.send_signal(signal.SIGTERM)
                farm.wait(60)
            report["fairness"] = fairness(tmp / "farm-stats.json")
        if not args.skip_store:
            path = tmp / "store.db"
            built = build_store(path, args.store_n, args.runs)
            report["store"] = {"citations": args.store_n, "runs": args.runs,
                               "generate_s": round(built, 1),
                               "db_mb": round(path.stat().st_size / 2**20, 1),
                               **time_summary(path)}
    OUT.mkdir(exist_ok=True)
    parts = ("-check" if not args.skip_check else "") + ("-store" if not args.skip_store else "")
    out = OUT / f"scale-{args.n}{parts}.json"
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nwritten: {out}")


def print_report(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['nproc']} x {m['cpu']}, python {m['python']}, sqlite {m['sqlite']}")
    if "check" in r:
        c, a = r["check"], r["args"]
        print(f"\ncheck: {a['n']} citations over {a['hosts']} hosts (concurrency "
              f"{a['concurrency']}, delay {a['delay']} s, server latency {a['latency']} s, "
              f"archive {'on' if a['archive'] else 'off'})")
        for k in ("exit_code", "run_state", "verdicts", "integrity", "wall_s", "urls_per_s",
                  "cpu_s", "cpu_s_per_1000", "peak_rss_mb"):
            print(f"  {k:<16} {c[k]}")
        print(f"  statuses         {c['statuses']}")
        print(f"  rss curve (s, MB) {c['rss_curve_mb'][:: max(1, len(c['rss_curve_mb']) // 10)]}")
    if r.get("fairness"):
        f = r["fairness"]
        print(f"\nfairness (server side): {f['hosts_seen']} hosts, {f['requests']} requests, "
              f"fetch span {f['fetch_span_s']} s")
        print(f"  host finish time / span  {f['host_finish_frac']}")
        print(f"  share done by half-time  {f['first_half_share']}  Jain {f['jain_first_half']}")
    if "store" in r:
        s = r["store"]
        print(f"\nstore: {s['citations']} citations x {s['runs']} runs ({s['db_mb']} MB, "
              f"generated in {s['generate_s']} s)")
        for k in ("build_summary_cold_s", "build_summary_warm_s", "build_summary_peak_python_mb",
                  "part_runs_s", "part_changes_s", "part_iter_rows_s", "rows", "history_runs",
                  "status_history_per_1000_s"):
            print(f"  {k:<26} {s[k]}")
        for name, plan in s["plans"].items():
            print(f"  plan {name}: {'; '.join(plan)}")


if __name__ == "__main__":
    main()
