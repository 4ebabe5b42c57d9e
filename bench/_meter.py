"""CPU accounting for benchmarks, from /proc: what each of our processes spent, and what the rest
of the machine did meanwhile (the load a run's numbers were measured beside)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int, *, children: bool = True) -> float:
    """CPU seconds of a process (user + system), with its waited-for children's. 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")" closing the name: field 3 is index 0, so utime (14) is 11, stime 12, cutime 13, cstime 14.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and every live process below it (a worker's label processes)."""
    return process_cpu(pid) + sum(process_cpu(child) for child in descendants(pid))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / TICK, total / TICK


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def postgres_pid() -> int | None:
    """The local PostgreSQL server's main process (the `postgres` whose parent is not one), if any."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if Path(f"/proc/{ppid}/comm").read_text().strip() != "postgres":
                return int(entry.name)
        except (OSError, IndexError, ValueError):
            continue
    return None


@dataclass
class Meter:
    """Measures a window: wall time, CPU of named processes (with their children), the machine's
    busy CPU, and its other load (busy CPU spent neither by this process and its descendants nor
    by a named process outside them, such as the database server)."""

    watched: dict[str, int] = field(default_factory=dict)
    _t0: float = 0.0
    _cpu0: dict[str, float] = field(default_factory=dict)
    _own0: float = 0.0
    _busy0: float = 0.0
    _load0: str = ""

    def _own(self) -> float:
        return tree_cpu(os.getpid())

    def start(self) -> Meter:
        self._t0 = time.perf_counter()
        self._cpu0 = {name: tree_cpu(pid) for name, pid in self.watched.items()}
        self._own0 = self._own()
        self._busy0 = machine_busy()[0]
        self._load0 = loadavg()
        return self

    def stop(self) -> dict:
        wall = time.perf_counter() - self._t0
        cpu = {name: tree_cpu(pid) - self._cpu0[name] for name, pid in self.watched.items()}
        own = self._own() - self._own0
        busy = machine_busy()[0] - self._busy0
        mine = descendants(os.getpid())
        outside = sum(cpu[name] for name, pid in self.watched.items() if pid not in mine)
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "busy_s": busy,
            "own_cores": own / wall if wall else 0.0,
            "other_load_cores": max(0.0, busy - own - outside) / wall if wall else 0.0,
            "loadavg": f"{self._load0} -> {loadavg()}",
        }
