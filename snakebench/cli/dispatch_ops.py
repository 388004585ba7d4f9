"""The operational commands of ``python -m snakebench.dispatch``: ``monitor``,
``status``, ``health``, ``batches``, ``cancel``, ``retry``, ``reconcile`` and ``purge``,
the commands that act on batches already submitted.

:mod:`snakebench.cli.dispatch` adds them to its app with :func:`register`, next to its
default command, submit; the views of a batch they share with submitting are
:mod:`snakebench.cli.submission`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from snakebench.cli.app import err, print_table
from snakebench.cli.submission import finish, line_up, models_of, out, watch_to_end
from snakebench.cli.terminal import safe_text
from snakebench.queueing import WORKER_COMMAND, connect_redis
from snakebench.queueing.recovery import games_without_jobs, purge
from snakebench.queueing.status import health_check, health_warnings, queue_status
from snakebench.services.batches import (
    cancel_batch,
    latest_batch_id,
    progress_of,
    retry_batch,
)
from snakebench.services.reconcile import reconcile
from snakebench.store import (
    UnknownBatchError,
    find_batch_id,
    get_batch,
    list_batches,
    open_store,
)


def register(app: typer.Typer) -> None:
    """Add the commands below to ``app``, in the order its help lists them."""
    for command in (monitor, status, health, batches, cancel, retry):
        app.command()(command)
    app.command("reconcile")(reconcile_command)
    app.command("purge")(purge_command)


# --- watching -----------------------------------------------------------------------


def _batch_id_or_latest(batch_id: str | None) -> str:
    if batch_id is not None:
        return find_batch_id(batch_id)
    latest = latest_batch_id()
    if latest is None:
        raise UnknownBatchError("no batch yet: submit one first")
    return latest


def monitor(
    batch_id: Annotated[
        str | None, typer.Argument(help="Batch id or a unique start of it; default: latest.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final progress as JSON.")
    ] = False,
) -> None:
    """Watch a batch to its end: progress bar, counts, games/min, ETA, cost.

    Ctrl+C stops watching, not the games. Exit status 1 if any game failed.
    """
    connection = connect_redis()
    open_store()
    batch_id = _batch_id_or_latest(batch_id)
    # A cheap safety net after a Redis loss; not for a --sync batch, which its own
    # process is playing with no jobs at all.
    if (get_batch(batch_id).params or {}).get("mode") != "sync":
        recovered = reconcile(connection, batch_id=batch_id)
        if recovered:
            err.print(f"re-enqueued {len(recovered)} games that had no job")
    finish(watch_to_end(batch_id, connection), as_json)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Workers, queue depths, scheduled / started / failed / deferred / abandoned jobs;
    warnings for workers that cannot run games and for games Redis has lost."""
    connection = connect_redis()
    snapshot = queue_status(connection)
    open_store()
    lost = games_without_jobs(connection)
    if as_json:
        out.print_json(json.dumps({**snapshot.to_dict(), "games_without_job": lost}))
    else:
        _print_status(snapshot.to_dict())
    warnings = snapshot.warnings()
    if lost:
        warnings.append(
            f"WARNING: {lost} queued or running games have no job in Redis (was it flushed "
            "or replaced, or a submission cut off?): `python -m snakebench.dispatch "
            "reconcile` enqueues them"
        )
    for warning in warnings:
        err.print(safe_text(warning, style="yellow"))  # a worker's name is not markup


def _print_status(data: dict[str, Any]) -> None:
    table = Table("worker", "state", "current game", "queues", "last heartbeat")
    for worker in data["workers"]:
        table.add_row(
            worker["name"], worker["state"], worker["current_game"] or "-",
            " ".join(worker["queues"]), worker["last_heartbeat"] or "-",
        )  # fmt: skip
    if data["workers"]:
        print_table(out, table)
    else:
        out.print("no workers")
    out.print("queues: " + ", ".join(f"{name} {n}" for name, n in data["queues"].items()))
    jobs = ", ".join(f"{label} {n}" for label, n in data["registries"].items())
    out.print(f"jobs: {jobs}, abandoned {data['abandoned']}")


def health(
    timeout: Annotated[float, typer.Option(min=0.5, help="Seconds to wait for answers.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Run health_check through each queue and report which workers answered.
    Exit status 1 if no healthy worker did."""
    reports = health_check(connect_redis(), timeout)
    if as_json:
        out.print_json(json.dumps(reports))
    else:
        table = Table("queue", "status", "worker", "host", "pid", "database", "redis")
        for r in reports:
            table.add_row(
                r["queue"], r.get("status", "-"), r.get("worker") or "-", r.get("host", "-"),
                str(r.get("pid", "-")), _reach(r.get("database")), _reach(r.get("redis")),
            )  # fmt: skip
        print_table(out, table)
    for warning in health_warnings(reports):
        err.print(safe_text(warning, style="yellow"))  # a worker's name is not markup
    if not any(r.get("status") == "healthy" for r in reports):
        nobody = not any(r["answered"] for r in reports)
        err.print(
            f"{'no worker answered' if nobody else 'no healthy answer'}: "
            f"start workers with `{WORKER_COMMAND}`"
        )
        raise typer.Exit(1)


def _reach(value: object) -> str:
    return "ok" if value is True else "-" if value is None else str(value)


# --- managing batches ---------------------------------------------------------------


def batches(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The latest batches: id (its first 8 characters are enough for the other
    commands), created, models, progress, cost, status."""
    open_store()
    rows = list_batches(limit)
    if as_json:
        out.print_json(json.dumps([{**progress_of(b).to_dict(), "params": b.params} for b in rows]))
        return
    table = Table("id", "created", "models", "done", "failed", "void", "cost", "status")
    for batch in rows:
        p, params = progress_of(batch), batch.params or {}
        table.add_row(
            batch.id[:8], f"{batch.created_at:%Y-%m-%d %H:%M}",
            line_up(models_of(params)),
            f"{p.done}/{p.total}", str(p.failed), str(p.void), f"${p.cost:.2f}", p.status,
        )  # fmt: skip
    print_table(out, table)


def cancel(
    batch_id: Annotated[str, typer.Argument(help="Batch id or a unique start of it.")],
) -> None:
    """Cancel a batch: queued games dropped, running ones stopped, all marked cancelled."""
    connection = connect_redis()
    open_store()
    batch_id = find_batch_id(batch_id)
    out.print(f"cancelled {cancel_batch(batch_id, connection)} games of batch {batch_id}")


def retry(
    batch_id: Annotated[str, typer.Argument(help="Batch id or a unique start of it.")],
) -> None:
    """Play the batch's failed and void games again, under the same ids."""
    connection = connect_redis()
    open_store()
    batch_id = find_batch_id(batch_id)
    out.print(f"re-queued {retry_batch(batch_id, connection)} games of batch {batch_id}")


def reconcile_command(
    batch_id: Annotated[
        str | None, typer.Option("--batch", help="Only this batch (default: every batch).")
    ] = None,
) -> None:
    """Re-enqueue every queued or running game that has no live job (after a lost
    Redis or a dead worker)."""
    connection = connect_redis()
    open_store()
    found = find_batch_id(batch_id) if batch_id is not None else None
    out.print(f"re-enqueued {len(reconcile(connection, batch_id=found))} games")


def purge_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Empty the game queues and their scheduled, failed and finished jobs.
    The database is not touched: queued games stay queued (reconcile re-enqueues them)."""
    connection = connect_redis()
    if not yes:
        typer.confirm("delete every queued, scheduled, failed and finished game job?", abort=True)
    counts = purge(connection)
    out.print("purged: " + ", ".join(f"{label} {n}" for label, n in counts.items()))
