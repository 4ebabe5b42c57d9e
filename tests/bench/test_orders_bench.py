"""The orders benchmark's honest parts, quickly: the bare baseline does exactly the shape it is
given (activities, local activities, Updates, signals per workflow), orders mix products of several branches, and
the meter charges a process's CPU (children included) to it, not to the machine's other load.
The full run (`BENCH_SCALE=0.05 python -m bench orders` for a smoke) takes minutes, not a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from temporalio.worker import Worker

from bench import orders
from bench._bare import BareShapeWorkflow, noop
from bench._load import _bare
from bench._meter import Meter, process_cpu


async def test_bare_workload_does_the_shape_it_is_given(dev_env, task_queue):
    cart = {"activities": 2, "local_activities": 3, "updates": 3, "signals": 1}
    order = {"activities": 4, "local_activities": 0, "updates": 1, "signals": 2}
    async with Worker(
        dev_env.client, task_queue=task_queue, workflows=[BareShapeWorkflow], activities=[noop]
    ):
        out = await _bare(
            {
                "address": dev_env.client.service_client.config.target_host,
                "queue": task_queue,
                "run": task_queue,
                "cart": cart,
                "order": order,
                "clients": 2,
                "n": 3,
            }
        )
        assert len(out["checkout_s"]) == 3 and out["done"] >= out["placed"] >= out["started"]
        for i in range(3):
            for kind, shape in (("cart", cart), ("order", order)):
                handle = dev_env.client.get_workflow_handle(f"bare-{kind}-{task_queue}-{i}")
                assert orders._shape(await handle.fetch_history()) == shape


def test_orders_buy_a_mix_from_several_branches():
    products = list(range(orders.PRODUCTS))
    picked = orders.baskets(products, 60, seed=1)
    assert {len(b) for b in picked} == {1, 2, 3} and all(len(set(b)) == len(b) for b in picked)
    branches_per_order = [len({p % orders.BRANCHES for p in b}) for b in picked]
    assert max(branches_per_order) == orders.BRANCHES
    assert [len(b) for b in orders.WARM_BASKETS] == [1, 2, 3]


def test_meter_charges_a_process_tree_its_cpu_and_keeps_it_out_of_other_load():
    busy = "import subprocess,sys,time\n" + (
        "c = subprocess.Popen([sys.executable, '-c', 'import time\\nt=time.process_time()\\n"
        "while time.process_time()-t<0.3: pass'])\n"
        "t=time.process_time()\nwhile time.process_time()-t<0.3: pass\nc.wait(); time.sleep(0.5)"
    )
    proc = subprocess.Popen([sys.executable, "-c", busy])
    meter = Meter({"busy": proc.pid}).start()
    proc.wait()
    m = meter.stop()
    # Both processes' 0.6 s of CPU are ours (the child was waited for by the watched process).
    assert m["own_cores"] * m["wall_s"] >= 0.5
    assert 0 <= m["other_load_cores"] <= 2 and "->" in m["loadavg"]


def test_meter_counts_a_watched_process_outside_its_tree_apart_from_other_load():
    # The database server is no child of the benchmark: its CPU is charged to it by name, and not
    # again to the machine's other load. A grandchild whose parent exits stands in for it.
    spawn = (
        "import subprocess,sys\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time\\nt=time.process_time()\\n"
        "while time.process_time()-t<0.4: pass\\ntime.sleep(5)'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nprint(c.pid, flush=True)"
    )
    out = subprocess.run([sys.executable, "-c", spawn], capture_output=True, text=True, check=True)
    pid = int(out.stdout)
    try:
        meter = Meter({"server": pid}).start()
        deadline = time.monotonic() + 10
        while process_cpu(pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.02)
        m = meter.stop()
    finally:
        os.kill(pid, signal.SIGKILL)
    assert m["cpu_s"]["server"] >= 0.2 and m["busy_s"] >= m["cpu_s"]["server"]
    assert m["other_load_cores"] * m["wall_s"] <= m["busy_s"] - m["cpu_s"]["server"] + 0.05


def test_postgres_pid_is_the_server_not_a_backend():
    from pathlib import Path

    from bench._meter import postgres_pid

    pid = postgres_pid()
    if pid is None:
        assert not any(p.name.isdigit() and _comm(p) == "postgres" for p in Path("/proc").iterdir()), (
            "a postgres process runs but was not found"
        )
        return
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert _comm(Path(f"/proc/{pid}")) == "postgres" and _comm(Path(f"/proc/{parent}")) != "postgres"


def _comm(p) -> str:
    try:
        return (p / "comm").read_text().strip()
    except OSError:
        return ""
