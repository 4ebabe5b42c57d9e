"""Run the benchmarks, print the results, and record them in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import bench
from bench._meter import Meter

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Written by `make bench` (`python -m bench`); one section per machine and day, replaced when
re-run. Numbers are only comparable within a section: same machine, same run.
"""


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, TypeError):
        pass
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        uname = " ".join(platform.uname())
    return {
        "uname": uname,
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "python": platform.python_version(),
        "scale": os.environ.get("BENCH_SCALE", "1"),
    }


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def section(results: dict[str, dict], info: dict[str, str], when: datetime) -> tuple[str, str]:
    key = f"<!-- run {when:%Y-%m-%d} {platform.node()} -->"
    lines = [
        key,
        f"## {when:%Y-%m-%d %H:%M} UTC on {info['cpu']} ({info['cores']} cores, {info['ram']} RAM)",
        "",
        f"`{info['uname']}`, Python {info['python']}"
        + (f", BENCH_SCALE={info['scale']} (a smoke run)" if info.get("scale", "1") != "1" else ""),
        "",
    ]
    for name, result in results.items():
        lines.append(f"### {name}")
        if "summary" in result:
            lines += ["", f"**{result['summary']}**"]
        lines += ["", "| measure | value |", "| --- | ---: |"]
        lines += [f"| {k} | {fmt(v)} |" for k, v in result.items() if k != "summary"]
        lines.append("")
    lines.append(key.replace("<!-- run", "<!-- end"))
    return key, "\n".join(lines) + "\n"


def record(results: dict[str, dict], info: dict[str, str], when: datetime, doc: Path = DOC) -> None:
    """Append this run's section, or replace today's from the same machine. Idempotent per day."""
    key, text = section(results, info, when)
    current = doc.read_text() if doc.exists() else HEADER
    end = key.replace("<!-- run", "<!-- end")
    if key in current and end in current:
        start, stop = current.index(key), current.index(end) + len(end) + 1
        current = current[:start] + text + current[stop:]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(current)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which to run (default all): {', '.join(available())}")
    parser.add_argument("--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['ram']}")
    results = {}
    for name in names:
        started = time.perf_counter()
        meter = Meter().start()
        result = importlib.import_module(f"bench.{name}").run()
        load = meter.stop()
        # What else ran on the machine meanwhile: busy CPU not spent by this run's processes.
        result["run_other_load_cores"] = round(load["other_load_cores"], 2)
        result["run_loadavg"] = load["loadavg"]
        results[name] = result
        print(f"\n{name} ({time.perf_counter() - started:.1f}s)")
        for k, v in result.items():
            print(f"  {k:>36}: {fmt(v)}")
    if not args.no_record:
        record(results, info, datetime.now(UTC))
        print(f"\nrecorded in {DOC}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # temporalio-based benchmarks may abort at interpreter exit (sdk-python#300)
