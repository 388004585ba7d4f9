"""Redis commands counted with MONITOR, by name: what pins a game job's commands
(tests/integration/test_round_trips.py) and what ``scripts/bench_queue.py`` counts.

MONITOR slows Redis down: only for untimed runs. Commands of RQ's scheduler (its lock
and the scheduled registries: ``--with-scheduler``, a few a second whatever runs) are
named apart (:data:`SCHEDULER`), as they come with time, not with jobs: every command
of a connection that touched them (the scheduler is a process of its own, with its own
connection: its MULTI, EXEC and SCRIPT LOAD too).
"""

from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import redis

SCHEDULER = " (scheduler)"


def command_name(line: str) -> str:
    """A MONITOR line's command name."""
    return line.split()[0].upper()


def is_scheduler(line: str) -> bool:
    return "rq:schedule" in line


def per_job(counts: Counter[str], jobs: int) -> float:
    """Commands per job, the scheduler's left out."""
    return sum(n for name, n in counts.items() if not name.endswith(SCHEDULER)) / jobs


class CommandCounter:
    """Redis commands run on database ``db`` of ``url`` while in use, by name."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url)
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.counts: Counter[str] = Counter()  # filled when the block ends
        self.seen: list[tuple[str, str]] = []  # (client, command name) in order
        self.schedulers: set[str] = set()  # clients that touched the scheduler's keys
        self.stopping = threading.Event()
        self.listening = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self) -> None:
        with self.client.monitor() as monitor:  # type: ignore[no-untyped-call]
            self.listening.set()
            while not self.stopping.is_set():
                command = monitor.next_command()
                line = command["command"]
                if command["db"] != self.db or not line:
                    continue
                client = f"{command.get('client_address')}:{command.get('client_port')}"
                if is_scheduler(line):
                    self.schedulers.add(client)
                    client = "scheduler"  # (a script's commands come from "lua")
                self.seen.append((client, command_name(line)))

    def __enter__(self) -> CommandCounter:
        self.thread.start()
        self.listening.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        # MONITOR waits for the next command: send one, on another database.
        parts = urlsplit(self.url)
        wake = redis.Redis.from_url(urlunsplit(parts._replace(path="/1" if self.db == 0 else "/0")))
        wake.ping()
        self.thread.join(10)
        wake.close()
        self.client.close()
        for client, name in self.seen:
            scheduler = client == "scheduler" or client in self.schedulers
            self.counts[name + SCHEDULER if scheduler else name] += 1
