"""``snakebench local up|status|down``: a private Redis and workers on this machine.

``up`` stays in the foreground (Ctrl+C stops everything); ``status`` and ``down``
work from any shell through the stack's folder (``.snakebench/`` by default), e.g.
to stop a stack whose terminal was closed or whose ``up`` was killed.
"""

from __future__ import annotations

import json
import signal
import time
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from snakebench.cli.app import App, err
from snakebench.cli.terminal import SafeConsole
from snakebench.localstack.stack import (
    DEFAULT_ROOT,
    LocalStack,
    LocalStackError,
    stack_status,
    stop_stack,
)

app = App(help="A private Redis and RQ workers on this machine (no Redis server needed).")
out = SafeConsole(soft_wrap=True)

RootOption = Annotated[
    Path, typer.Option("--root", help="The stack's folder: socket, logs, stack.json.")
]
StopTimeout = Annotated[
    float, typer.Option(min=0, help="Seconds workers get to finish running games on stop.")
]
WATCH_INTERVAL = 1.0


@app.command()
def up(
    workers: Annotated[int, typer.Option(min=0, help="Worker processes to run.")] = 2,
    dashboard: Annotated[
        bool, typer.Option("--dashboard", help="Also serve rq-dashboard on a free local port.")
    ] = False,
    root: RootOption = DEFAULT_ROOT,
    stop_timeout: StopTimeout = 10.0,
) -> None:
    """Start a private Redis (Unix socket, no TCP port) and N workers, then wait.

    Point dispatch (or more workers) at the REDIS_URL it prints. Ctrl+C stops
    everything; snakebench local down does the same from another shell.
    """
    # A shell starts background jobs with SIGINT ignored; this command must stop on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Interrupted while starting, start() has stopped what it had started; a
    # LocalStackError is reported by the app (cli.app.USAGE_ERRORS).
    with suppress(KeyboardInterrupt, SystemExit):
        _serve(LocalStack(workers, dashboard, root, stop_timeout=stop_timeout))
    out.print("local stack stopped")


def _serve(stack: LocalStack) -> None:
    """Run the stack until Ctrl+C, SIGTERM (``local down``) or Redis dies."""
    with stack:
        try:
            _announce(stack)
            _watch(stack)
        except (KeyboardInterrupt, SystemExit):
            err.print(f"stopping (up to {stack.stop_timeout:g} s for running games)...")


def _announce(stack: LocalStack) -> None:
    out.print(f"local stack up in {stack.root}: redis + {stack.workers} worker(s)")
    out.print(f"export REDIS_URL={stack.redis_url}")
    out.print(f"more workers: {stack.worker_command}")
    if stack.dashboard_url:
        out.print(f"dashboard: {stack.dashboard_url}")
    out.print(f"logs: {stack.logs}/   Ctrl+C stops everything")


def _watch(stack: LocalStack) -> None:
    """Wait for Ctrl+C; say when a process dies, and give up if Redis does."""
    reported: set[str] = set()
    while True:
        time.sleep(WATCH_INTERVAL)
        for record in stack.dead_children():
            if record.role == "redis":
                raise LocalStackError(f"redis exited unexpectedly (log {record.log})")
            if record.role not in reported:
                reported.add(record.role)
                err.print(
                    Text.assemble(
                        ("warning:", "yellow"), f" {record.role} exited (log {record.log})"
                    )
                )


@app.command()
def status(
    root: RootOption = DEFAULT_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Whether a stack runs in ROOT: its processes, live workers, queue depths.

    Exit status 0 when it is up, 1 when not (or only part of it is).
    """
    report = stack_status(root.expanduser().resolve())
    if as_json:
        out.print_json(json.dumps(report))
    elif not report["recorded"]:
        out.print(f"no local stack in {report['root']}")
    else:
        _print_status(report)
    if not report["running"]:
        raise typer.Exit(1)


def _print_status(report: dict[str, Any]) -> None:
    if not report["running"]:
        state = "NOT running (snakebench local down stops what is left)"
    else:
        state = "running" if report["complete"] else "running, but some processes are gone"
    out.print(f"local stack in {report['root']}: {state}, started {report['started_at']}")
    out.print(f"REDIS_URL={report['redis_url']}")
    for proc in report["processes"]:
        alive = "alive" if proc["alive"] else "gone"
        out.print(f"  {proc['role']:<10} pid {proc['pid']:<8} {alive}")
    if report.get("dashboard_url"):
        out.print(f"dashboard: {report['dashboard_url']}")
    if "queues" in report:
        out.print(f"rq workers: {report['rq_workers']}")
        for name, depth in report["queues"].items():
            counts = ", ".join(f"{key} {value}" for key, value in depth.items())
            out.print(f"  {name:<10} {counts}")


@app.command()
def down(root: RootOption = DEFAULT_ROOT, stop_timeout: StopTimeout = 10.0) -> None:
    """Stop the stack recorded in ROOT, e.g. one whose up was killed. Safe to repeat."""
    folder = root.expanduser().resolve()
    state = stop_stack(folder, grace=stop_timeout)
    if state is None:
        out.print(f"no local stack in {folder}")
    else:
        out.print(f"stopped the local stack in {folder} (started {state.started_at})")


if __name__ == "__main__":
    app(prog_name="snakebench local")
