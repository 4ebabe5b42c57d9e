"""`make fuzz`: Schemathesis over every /api/v1 operation of a freshly started stack, as the
demo admin, all checks on. Exits non-zero on any server error or failed check.

    python -m harness.fuzz [--max-examples N] [--max-time SECONDS]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

from harness.stack import RunningStack


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="harness.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=int(os.environ.get("FUZZ_MAX_EXAMPLES", "25")))
    ap.add_argument("--max-time", type=int, default=int(os.environ.get("FUZZ_MAX_TIME", "600")))
    ap.add_argument("--report-dir", default="var/fuzz")
    args = ap.parse_args(argv)
    st = Path(sysconfig.get_path("scripts")) / "st"
    report = Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    with RunningStack() as stack:
        own = stack.admin_token()
        # The app builds its OpenAPI document on first request (seconds on a loaded machine, past
        # Schemathesis' 10 s load timeout); build it here, once, and it stays cached.
        urllib.request.urlopen(f"{stack.url}/api/openapi.json", timeout=300).read()
        cmd = [
            str(st),
            "run",
            f"{stack.url}/api/openapi.json",
            "--url",
            stack.url,
            "--header",
            f"Authorization: Bearer {own.secret}",
            "--checks",
            "all",
            "--max-examples",
            str(args.max_examples),
            "--max-time",
            str(args.max_time),
            "--request-timeout",
            "15",
            "--workers",
            "1",
            "--seed",
            os.environ.get("FUZZ_SEED", "20261130"),
            "--report",
            "junit",
            "--report-dir",
            str(report),
            "--no-color",
        ]
        print("fuzzing", stack.url, "with", args.max_examples, "examples per operation", flush=True)
        # The hooks keep the fuzzer from revoking its own token or user (harness/fuzz_hooks.py).
        env = dict(
            os.environ,
            SCHEMATHESIS_HOOKS="harness.fuzz_hooks",
            FUZZ_OWN_USER_ID=str(own.user_id),
            FUZZ_OWN_TOKEN_ID=str(own.token_id),
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")])
            ),
        )
        code = subprocess.call(cmd, env=env)
    print(f"fuzz report: {report}/ (exit {code})", flush=True)
    return code


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    os._exit(rc)  # temporalio may abort at interpreter exit (sdk-python#300)
