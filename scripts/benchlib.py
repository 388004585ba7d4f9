"""What the benchmarks in this folder share: starting and stopping the processes they
measure, reading their CPU time and memory from /proc, and printing a table.

Imported by ``scripts/bench_dispatch.py``, ``bench_queue.py``, ``bench_ratings.py`` and
``bench_video.py`` (run as scripts, so this folder is on ``sys.path``). Linux only:
everything is read from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import redis
from rq import Worker

from snakebench.testing.support import children_of, process_table

# --- timing ---------------------------------------------------------------------------


def best_time(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs: other load on a shared machine only slows a run."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


# --- processes ------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``: children, their children, ..."""
    table = process_table()
    out, todo = [], [pid]
    while todo:
        kids = list(children_of(todo.pop(), table))
        out += kids
        todo += kids
    return out


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmHWM: peak RSS), 0 if the process is gone."""
    return _proc_kb(f"/proc/{pid}/status", key)


def pss_kb(pid: int) -> int:
    """Proportional set size: RSS with shared pages divided among their sharers."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss")


def _proc_kb(path: str, key: str) -> int:
    """The number on the ``key:`` line of a /proc file (kB), 0 if the process is gone."""
    with suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its reaped children (an RQ worker reaps each
    work horse, so this includes every job it ran)."""
    with suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def family_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by these processes and all their descendants, live or
    reaped (a reaped process's time is in its parent's children's time)."""
    table = process_table()
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        total += cpu_seconds(pid)
        todo += list(children_of(pid, table))
    return total


class CpuMeter:
    """Cores busy over an interval: the given process trees', this process's (the
    fake server runs in it, and the monitor), and the whole machine's (other load on
    this shared machine shows as the difference)."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.start = self._read()

    def _read(self) -> tuple[float, float, float, float, float]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        busy = float(sum(values) - values[3] - values[4])  # all but idle and iowait
        times = os.times()
        return (
            time.monotonic(),
            family_cpu(self.roots),
            times.user + times.system,
            busy,
            float(sum(values)),
        )

    def cores(self) -> tuple[float, float, float]:
        """(the trees', this process's, the machine's) cores busy since the start."""
        end = self._read()
        wall = max(end[0] - self.start[0], 1e-9)
        ticks = end[4] - self.start[4]  # 0 when the span was shorter than one clock tick
        machine = (end[3] - self.start[3]) / ticks * (os.cpu_count() or 1) if ticks else 0.0
        return (end[1] - self.start[1]) / wall, (end[2] - self.start[2]) / wall, machine


@dataclass
class Procs:
    """Every process this run started; ``stop`` ends them and their descendants."""

    log_dir: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"proc-{uuid.uuid4().hex[:8]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL for anything left, descendants
        first collected so that orphaned work horses are not missed."""
        family = {p.pid: descendants(p.pid) for p in self.started if p.poll() is None}
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.started:
            with suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.started:
            for pid in [*family.get(process.pid, []), process.pid]:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                process.wait(5)
        self.started.clear()


def wait_workers(connection: redis.Redis, count: int, timeout: float) -> bool:
    """Whether ``count`` RQ workers registered in Redis within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Worker.count(connection=connection) >= count:
            return True
        time.sleep(0.2)
    return False


# --- output ---------------------------------------------------------------------------

NORMAL_HOST_SPEED = 250_000  # bench_engine's baseline rounds/s on this machine on a normal day


def host_speed(seconds: float = 1.5) -> str:
    """How fast this shared host runs Python right now, as one line to print beside a
    figure that the CPU limits: bench_engine's baseline (the original's round loop,
    replayed) against its usual rate. The same code has run 1.5-1.7x slower on some
    afternoons, enough to move a CPU-bound row by 25 points."""
    from bench_engine import best_rate, original_style_replay, record_games

    count, elapsed = best_rate(original_style_replay(record_games(20)), seconds, 3)
    rate = count / elapsed
    return (
        f"host speed: {rate:,.0f} original-style rounds/s in bench_engine's baseline loop "
        f"({rate / NORMAL_HOST_SPEED:.0%} of the usual {NORMAL_HOST_SPEED:,})"
    )


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print ``rows`` under ``title``: the first column left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    for row in (header, *rows):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    sys.stdout.flush()
