"""Memory at the end of a big run: build_summary + the policy + each report format, at 100,000
citations (issue #7: a 100,000-citation check must peak under 200 MB).

Not a test: it prints a table and writes bench/out/report-memory-<N>.json.

A fresh store gets `--n` citations and `--runs` finished runs of results, generated directly
in SQLite (the generator of bench/bench_scale.py part 2: 90% ok, 4% not_found, 3% redirected,
1% each timeout, blocked, server_error; 1% of URLs have a known archived copy). Then, for each
format, a child process of its own opens the store, notes its resident set (VmRSS: the
baseline, after imports), and runs what `crawler check` runs after its last fetch:
`store.build_summary` and `main_job._finish` (the policy, the output written to a file, the
GitHub job summary in Markdown, the hints). Its peak resident set (ru_maxrss) minus the
baseline is what the end of a run costs. `--report` runs `crawler report -o FILE` instead.

Measured (2 vCPU, Python 3.11, 100,000 citations, 1 run; MB over the ~55 MB baseline):
                   table  csv   json  junit  md    html
  before streaming  +283  +291  +852  +302   +276  +523
  after             +6    +6    +7    +6     +7    +6
With every citation failing, the policy's (id, reason) per citation and the newly-failing ids
remain: +40 MB after (+404 table, +933 json, +647 html before).

usage: python bench/bench_report_memory.py [--n 100000] [--runs 1] [--formats table,csv,...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

FORMATS = ("table", "csv", "json", "junit", "md", "html")


def vmrss_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(db_path: str, fmt: str, out: str, via: str) -> dict:
    """One format in this (fresh) process: baseline RSS, then the end of a run."""
    import click  # noqa: F401  (imports first: they are the baseline, not the end of a run)
    import jinja2  # noqa: F401

    from crawler import cli, console, main_job, policy, report, report_templates, store  # noqa: F401
    db = store.open_db(db_path)
    report_templates._environment(True).get_template("report.html.j2")     # compiled templates are
    report_templates._environment(False).get_template("report.md.j2")      # part of the baseline
    base = vmrss_kb()
    t0 = time.monotonic()
    if via == "report":
        from click.testing import CliRunner
        result = CliRunner().invoke(cli.cli, ["report", "--db", db_path, "--format", fmt,
                                              "-o", out])
        code = result.exit_code
    else:
        os.environ["GITHUB_STEP_SUMMARY"] = out + ".step.md"
        summary = store.build_summary(db, None)
        assert summary is not None
        code = main_job._finish(summary, policy.parse_fail_on(policy.DEFAULT_FAIL_ON), fmt, out)
    wall = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"fmt": fmt, "via": via, "baseline_mb": round(base / 1024, 1),
            "peak_mb": round(peak / 1024, 1), "end_of_run_mb": round((peak - base) / 1024, 1),
            "wall_s": round(wall, 1), "exit_code": code,
            "output_mb": round(os.path.getsize(out) / 2**20, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--formats", default=",".join(FORMATS))
    p.add_argument("--report", action="store_true", help="`crawler report -o` instead of check's end")
    p.add_argument("--db", help="reuse this store instead of generating one")
    p.add_argument("--label", default="", help="a name for this measurement in the JSON")
    p.add_argument("--child", nargs=4, metavar=("DB", "FMT", "OUT", "VIA"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from bench_scale import build_store
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-report-mem-") as d:
        db = Path(args.db) if args.db else Path(d) / "store.db"
        if not args.db:
            built = build_store(db, args.n, args.runs)
            print(f"store: {args.n} citations x {args.runs} run(s) in {built:.1f} s", file=sys.stderr)
        for fmt in args.formats.split(","):
            if args.report and fmt == "table":
                continue
            out = str(Path(d) / f"out.{fmt}")
            proc = subprocess.run([sys.executable, __file__, "--child", str(db), fmt, out,
                                   "report" if args.report else "check"],
                                  capture_output=True, text=True, cwd=d)
            if proc.returncode:
                sys.exit(f"{fmt}: child failed\n{proc.stderr[-3000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(row)
            print(f"{fmt:<6} baseline {row['baseline_mb']:>6} MB  peak {row['peak_mb']:>6} MB  "
                  f"end of run +{row['end_of_run_mb']:>6} MB  {row['wall_s']:>5} s  "
                  f"output {row['output_mb']} MB", flush=True)
    OUT.mkdir(exist_ok=True)
    name = f"report-memory-{args.n}{'-report' if args.report else ''}{args.label and '-' + args.label}"
    (OUT / f"{name}.json").write_text(json.dumps({"n": args.n, "runs": args.runs,
                                                  "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
