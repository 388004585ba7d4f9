"""Submitting a batch from the command line, in its three modes: to Redis (watched
with ``--monitor``), ``--local`` (a private Redis and workers for this batch) and
``--sync`` (played in this process). ``python -m snakebench.dispatch`` and ``snakebench
tournament`` both submit through :func:`run_submission`; the batch itself is planned,
budgeted, written and enqueued by :mod:`snakebench.services.batches`. Also the views
of a batch that submitting shares with ``dispatch monitor``: watch it to its end, print
its final summary, name its models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import typer

from snakebench.cli.app import err
from snakebench.cli.monitor import BatchView, summary, summary_line, watch
from snakebench.cli.terminal import SafeConsole
from snakebench.localstack.stack import LocalStack
from snakebench.queueing import QUEUE_NAMES, connect_redis
from snakebench.services.batches import (
    BatchProgress,
    PreparedBatch,
    batch_progress,
    cancel_batch,
    run_batch_sync,
    submit,
)
from snakebench.store import BOT_MODELS, Batch, UnknownModelError, open_store, store_exists

out = SafeConsole(soft_wrap=True)


@dataclass(frozen=True)
class Submission:
    """A batch to submit: the names of its models (checked before a database is
    created) and ``prepare``, which validates and budgets it, ready to write
    (:func:`snakebench.services.batches.prepare_batch`; tournaments submit through the
    same modes with :func:`snakebench.services.tournament.prepare_tournament`)."""

    models: Sequence[str]
    prepare: Callable[[], PreparedBatch]
    # Once the batch is over (watched, --sync, --local): its results as JSON-ready
    # facts, added to the final JSON under "results", and how to print them as text.
    results: Callable[[str], dict[str, Any]] | None = None
    show: Callable[[dict[str, Any]], None] | None = None


def run_submission(
    submission: Submission, when: datetime | None = None, *, sync: bool = False,
    local: bool = False, monitor: bool = False, workers: int = 2, as_json: bool = False,
) -> str:  # fmt: skip
    """Submit as ``--sync``, ``--local`` or to Redis (watched with ``monitor``), print
    the report, and return the batch id (exits 1 if a watched game failed)."""
    if sync:
        return _submit_sync(submission, as_json=as_json)
    if local:
        return _submit_local(submission, when, workers=workers, as_json=as_json)
    return _submit_queued(submission, when, monitor=monitor, as_json=as_json)


def _open_store_for(models: Sequence[str]) -> None:
    """Open the store, unless the models cannot be in it: a directory with no database
    yet knows only the bots, and bad input must not leave an empty database behind."""
    if not store_exists():
        for model in models:
            if model not in BOT_MODELS:
                raise UnknownModelError(model, BOT_MODELS)
    open_store()


def _submit_queued(
    submission: Submission, when: datetime | None, *, monitor: bool, as_json: bool
) -> str:
    connection = connect_redis()  # unreachable Redis: refused before anything is written
    _open_store_for(submission.models)
    report = _submit(submission, connection, when)
    if not (monitor and as_json):  # with both, one JSON document at the end
        _print_submitted(report, as_json)
    if monitor:
        finish(watch_to_end(report["batch_id"], connection), as_json, report, submission)
    return str(report["batch_id"])


def _submit(
    submission: Submission, connection: redis.Redis, when: datetime | None
) -> dict[str, Any]:
    """:func:`snakebench.services.batches.submit`, reporting how many jobs were really
    enqueued."""
    batch, enqueued = submit(submission.prepare, connection, at=when)
    return _submitted(batch, when, enqueued)


def _submitted(batch: Batch, when: datetime | None, enqueued: int) -> dict[str, Any]:
    params = batch.params or {}
    return {
        "batch_id": batch.id,
        "games": batch.total_games,
        "enqueued": enqueued,
        "models": models_of(params),
        "mirror": params.get("mirror"),
        "seed": params.get("seed"),
        "prompt_variant": params.get("prompt_variant"),
        "priority": params.get("priority"),
        "queue": QUEUE_NAMES.get(str(params.get("priority")), None),
        "scheduled_for": when.isoformat() if when else None,
        "estimated_cost": params.get("estimated_cost"),
        "max_cost": batch.max_cost,
    }


def _print_submitted(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report))
        return
    line = f"batch {report['batch_id']}: {report['games']} games, {line_up(report['models'])}"
    line += " (mirrored)" if report["mirror"] else ""
    line += f", prompt variant {report['prompt_variant']}" if report["prompt_variant"] else ""
    line += f", on queue {report['queue']}"
    if report["scheduled_for"]:
        line += f", scheduled for {report['scheduled_for']}"
    line += f"; at most ${report['estimated_cost']:.2f}"
    out.print(line)
    err.print(f"watch it: python -m snakebench.dispatch monitor {report['batch_id']}")


def _submit_sync(submission: Submission, *, as_json: bool) -> str:
    """Create the batch and play it here, game after game (no Redis, no workers)."""
    _open_store_for(submission.models)
    batch = submission.prepare().write()
    report = _submitted(batch, None, 0)
    try:
        with BatchView(batch_progress(batch.id), err) as view:
            final = run_batch_sync(
                batch.id, on_game=lambda _: view.update(batch_progress(batch.id))
            )
    except KeyboardInterrupt:
        cancelled = cancel_batch(batch.id, None)
        err.print(f"interrupted: {cancelled} games of batch {batch.id} cancelled")
        raise typer.Exit(130) from None
    finish(final, as_json, report, submission)
    return batch.id


def _submit_local(
    submission: Submission, when: datetime | None, *, workers: int, as_json: bool
) -> str:
    """Start a private Redis and ``workers`` workers, run the batch on them to the end,
    stop everything, and print a summary. Ctrl+C cancels what is left: with the stack
    gone, nothing would play it."""
    _open_store_for(submission.models)
    # A LocalStackError is reported by the app (cli.app.USAGE_ERRORS).
    with LocalStack(workers=workers) as stack:
        connection = connect_redis(stack.redis_url)
        report = _submit(submission, connection, when)
        try:
            final = watch(report["batch_id"], connection, console=err)
        except KeyboardInterrupt:
            cancelled = cancel_batch(report["batch_id"], connection)
            err.print(f"interrupted: {cancelled} games cancelled; local stack stopped")
            raise typer.Exit(130) from None
    finish(final, as_json, report, submission)
    return str(report["batch_id"])


def models_of(params: dict[str, Any]) -> list[str | None]:
    """The models a batch's parameters name: a tournament's list, or a pair."""
    return list(params.get("models") or [params.get("model_a"), params.get("model_b")])


def line_up(models: Sequence[str | None]) -> str:
    """``a v b`` for a pair, ``round robin of a, b, c`` for more."""
    names = [str(model or "?") for model in models]
    return " v ".join(names) if len(names) == 2 else "round robin of " + ", ".join(names)


def watch_to_end(batch_id: str, connection: redis.Redis | None) -> BatchProgress:
    """Watch until the batch is finished; Ctrl+C stops the watching, not the games."""
    try:
        return watch(batch_id, connection, console=err)
    except KeyboardInterrupt:
        err.print("stopped watching; the games go on")
        raise typer.Exit(130) from None


def finish(
    progress: BatchProgress,
    as_json: bool,
    report: dict[str, Any] | None = None,
    submission: Submission | None = None,
) -> None:
    """Print the final summary (or JSON), then the submission's results if it has
    any, and exit 1 if any game failed."""
    results = None
    if submission is not None and submission.results is not None:
        results = submission.results(progress.batch_id)
    if as_json:
        facts = summary(progress)
        document = {**report, "progress": facts} if report else facts
        out.print_json(json.dumps(document | ({"results": results} if results else {})))
    else:
        out.print(summary_line(progress))
        if results is not None and submission is not None and submission.show is not None:
            submission.show(results)
    if progress.failed:
        raise typer.Exit(1)
