"""Child processes of the local stack: started, recognised and stopped without strays.

Each child runs in a session (and so a process group) of its own. That keeps a Ctrl+C
in the terminal away from it, so the stack decides the order things stop in (workers
before the Redis they talk to), and it lets a worker be killed together with the work
horse it forked for a game.

A process is recognised by its pid *and* its start time, never by its pid alone: a
stack whose owner was SIGKILLed is stopped later from another shell by the pids in its
state file, and by then a pid may belong to some unrelated process.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

POLL = 0.05  # seconds between checks while waiting on processes
KILL_WAIT = 5.0  # seconds a SIGKILLed process gets to disappear


@dataclass(frozen=True)
class ProcessRecord:
    """One child as the state file remembers it."""

    role: str  # "redis", "worker-1", "dashboard", "owner"
    pid: int
    started: str  # start time as the OS reports it; with the pid it names one process
    log: str = ""

    def alive(self) -> bool:
        return self.started != "" and process_identity(self.pid) == self.started

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(
            role=str(data["role"]),
            pid=int(data["pid"]),
            started=str(data["started"]),
            log=str(data.get("log", "")),
        )

    @classmethod
    def of(cls, role: str, pid: int, log: str = "") -> ProcessRecord:
        """The record of the live process ``pid`` (``started`` empty if already gone)."""
        return cls(role=role, pid=pid, started=process_identity(pid) or "", log=log)


def process_identity(pid: int) -> str | None:
    """The start time of the live process ``pid``; None when there is none or it is a
    zombie (exited, not yet reaped: it counts as gone)."""
    if pid <= 0:
        return None
    if not _has_proc():
        return _ps_identity(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of proc(5): start time in clock ticks since boot


@functools.cache
def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def _ps_identity(pid: int) -> str | None:
    """``process_identity`` where there is no /proc (macOS, BSD)."""
    try:
        done = subprocess.run(
            ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    state, _, started = done.stdout.strip().partition(" ")
    if done.returncode != 0 or not state or state.startswith("Z"):
        return None
    return " ".join(started.split())


def spawn(
    role: str, command: Sequence[str], *, log: Path, env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Start ``command`` in a session of its own, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    return proc, ProcessRecord.of(role, proc.pid, str(log))


def stop_processes(
    records: Sequence[ProcessRecord],
    *,
    grace: float,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """SIGTERM each process, give them ``grace`` seconds to exit (an RQ worker
    finishes its current game: a warm shutdown), then SIGKILL each one's whole
    process group, which takes a work horse still playing along with its worker.
    ``hurry`` returning True (a second Ctrl+C) cuts the wait short."""
    for record in records:
        _signal(record, signal.SIGTERM)
    _wait_gone(records, grace, hurry)
    for record in records:
        _kill_group(record)
    _wait_gone(records, KILL_WAIT, lambda: False)


def _signal(record: ProcessRecord, signum: int) -> None:
    if record.alive():
        with suppress(ProcessLookupError):
            os.kill(record.pid, signum)


def _kill_group(record: ProcessRecord) -> None:
    """SIGKILL the group ``record`` leads, unless its pid now names another process.

    A dead leader's group is still ours: POSIX never reuses a pid while a process
    group of that number exists, so any member left is one of our children's.
    """
    identity = process_identity(record.pid)
    if identity is not None and identity != record.started:
        return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signal.SIGKILL)


def _wait_gone(records: Sequence[ProcessRecord], timeout: float, hurry: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while any(r.alive() for r in records):
        if time.monotonic() >= deadline or hurry():
            return
        time.sleep(POLL)


def wait_until(
    ready: Callable[[], bool], *, timeout: float, alive: Callable[[], bool], what: str
) -> bool:
    """Poll ``ready`` until it holds (True); False if ``alive`` stops holding first.
    Raises TimeoutError after ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive():
            return False
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout:g} s")
        time.sleep(POLL)
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def last_line(log: Path | str) -> str:
    """The last non-blank line of a log file, for a one-line error ('' if none)."""
    try:
        with Path(log).open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""
